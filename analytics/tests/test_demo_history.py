"""The demo's history: past shows with attendance, a replay and clips for sale, a settled group-buy, members,
loyalty and a payout statement; deterministic, quick, and loaded once."""
import time
from decimal import Decimal

import pytest
from django.core.management import call_command
from django.test import Client

from analytics import home
from analytics.selectors import creator_metrics, event_metrics
from payouts import services as payouts
from groupbuys.models import GroupBuy
from payouts.models import LedgerEntry, Payout
from events.models import Event, Ticket
from memberships.models import LoyaltyEntry, Membership
from microstage.models import Creator
from streaming.models import Clip, ContentAccess, ReplayOffer

pytestmark = pytest.mark.django_db


def test_demo_history_fills_the_charts(settings):
    settings.PAYMENTS_PROVIDER = "sandbox"
    began = time.monotonic()
    call_command("demo", stdout=open("/dev/null", "w"))  # noqa: SIM115
    assert time.monotonic() - began < 30  # seconds on a shared test machine; a few on a laptop
    call_command("demo", stdout=open("/dev/null", "w"))  # noqa: SIM115 - again: nothing twice
    creator = Creator.objects.get(slug="night-owls")
    past = Event.objects.filter(creator=creator, slug__startswith="late-night-session-").exclude(
        slug="late-night-session")
    assert past.count() == 4
    assert Ticket.objects.filter(event__in=past, checked_in_at__isnull=False).count() > 20
    assert ReplayOffer.objects.filter(event__in=past).count() == 1 and ContentAccess.objects.count() == 3
    assert Clip.objects.filter(event__in=past, price__gt=0).count() == 2
    assert GroupBuy.objects.filter(creator=creator, status=GroupBuy.Status.SETTLED).count() == 1
    assert Membership.objects.filter(creator=creator, status="active").count() >= 8
    assert LoyaltyEntry.objects.filter(reason="attendance").count() > 20
    payout = Payout.objects.get(creator=creator)
    assert payout.status == "paid" and payout.amount > 0
    assert [r["type"] for r in payouts.statement(payout)][-1] == "payout"
    assert LedgerEntry.objects.filter(creator=creator, kind="sale").count() > 40
    metrics = creator_metrics(creator, days=90)
    assert metrics["attendees"] > 10 and Decimal(str(metrics["revenue"]["EUR"] if isinstance(
        metrics["revenue"], dict) else metrics["revenue"])) > 0
    assert event_metrics(past.order_by("-starts_at").first())["tickets_sold"] > 0
    assert home.sales(creator.pk, "EUR")["this_week"] + home.sales(creator.pk, "EUR")["last_week"] > 0
    owner = Client()
    owner.force_login(creator.team.get(role="owner").user)
    assert owner.get("/dashboard/").status_code == 200
    statement = owner.get(f"/dashboard/money/payouts/{payout.pk}/")
    assert statement.status_code == 200 and "Platform fee" in statement.content.decode()
