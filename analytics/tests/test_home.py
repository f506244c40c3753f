"""The creator home (/dashboard/): next show and state, sales today and this week against last week, live now,
next payout, and what is waiting on the team."""
from datetime import timedelta
from decimal import Decimal

import pytest
from django.core.cache import cache
from django.test import Client
from django.utils import timezone

from analytics import home
from commerce.models import Order
from payouts.models import Dispute
from risk.models import RiskReview
from events.tests.factories import EventFactory, TierFactory
from events.tests.test_api_tickets import buy
from microstage.models import Invitation, Role
from microstage.tests.factories import UserFactory, team_member
from streaming.models import ChatMessage, LiveStream

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _sandbox(settings):
    settings.PAYMENTS_PROVIDER = "sandbox"


def test_sales_today_and_week_against_last_week():
    tier = TierFactory(price=Decimal("20.00"))
    creator_id = tier.event.creator_id
    buy(tier, UserFactory(), 2)  # 40.00 today
    old = buy(tier, UserFactory())[0].order_line.order
    Order.objects.filter(pk=old.pk).update(paid_at=timezone.now() - timedelta(days=9))  # 20.00 last week
    data = home.sales(creator_id, "EUR")
    assert (data["today"], data["this_week"], data["last_week"], data["change_percent"]) == (
        Decimal("40.00"), Decimal("40.00"), Decimal("20.00"), 100)
    assert len(data["chart"]["this_week"]) == 7 and data["chart"]["this_week"][-1] == "40.00"


def test_home_page_for_the_owner_shows_everything_waiting():
    now = timezone.now()
    event = EventFactory(starts_at=now + timedelta(hours=20), ends_at=now + timedelta(hours=23))
    tier = TierFactory(event=event)
    [ticket] = buy(tier, UserFactory())
    order = ticket.order_line.order
    RiskReview.objects.create(order=order, score=80, reasons=["test"])
    Dispute.objects.create(order=order, provider_reference="dp_home", amount=Decimal("20.00"), currency="EUR")
    Invitation.objects.create(creator=event.creator, email="new@example.com", role=Role.DOOR)
    cache.set(f"streaming:preflight:{event.pk}", {"lines": [{"label": "Ingest receiving", "status": "fail"}]}, 60)
    owner = Client()
    owner.force_login(team_member(event.creator, Role.OWNER))
    html = owner.get("/dashboard/").content.decode()
    assert event.title in html and 'data-state="before"' in html and "1 ticket sold" in html
    for text in ("Orders held for a risk review", "Open disputes", "Team invitations not yet answered",
                 "Preflight of", "Ingest receiving", 'id="home-sales-chart"', "Next payout"):
        assert text in html, text
    assert "Next steps" in html


def test_live_now_with_viewers_and_chat_and_door_sees_no_money():
    event = EventFactory(starts_at=timezone.now() - timedelta(minutes=30))
    LiveStream.objects.create(event=event, status=LiveStream.Status.LIVE)
    ChatMessage.objects.create(event=event, user=UserFactory(), text="hello")
    [live] = home.live_now(event.creator_id)
    assert live["chat_recent"] == 1 and live["viewers"] >= 0
    door = Client()
    door.force_login(team_member(event.creator, Role.DOOR))
    html = door.get("/dashboard/").content.decode()
    assert 'id="home-live"' in html and "1 chat message" in html
    assert 'id="home-sales"' not in html and 'id="home-payout"' not in html
