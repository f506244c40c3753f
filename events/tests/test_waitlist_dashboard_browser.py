"""The waiting list as the creator sees it on a phone: who is in line and what each offer became — one
offer lapsed and passed on, the next one bought, the last person still waiting first in line."""
from datetime import timedelta

import pytest
from django.test import Client
from django.utils import timezone
from playwright.sync_api import expect

from commerce import services as commerce
from commerce import stock_snapshot
from commerce.models import Order
from commerce.models.inventory import Hold
from events import waitlist
from events.models import WaitlistEntry
from events.tasks import promote_waiting_lists
from microstage.models import Role
from microstage.tests.factories import UserFactory, team_member
from microstage.tests.test_browser import LAYOUT_PROBLEMS

from .factories import TierFactory
from .test_waitlist import buy
from microstage.permissions import SYSTEM

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_the_creator_sees_the_line_and_what_each_offer_became(phone, live_server, settings, artifacts):
    settings.PAYMENTS_PROVIDER = "sandbox"
    tier = TierFactory(name="Desk seat", quantity=1, price="25.00")
    held = buy(tier, 1)  # the one seat, reserved and not paid yet
    lapsed, bought, waiting = (UserFactory(email=f"{n}@example.com") for n in ("lapsed", "bought", "waiting"))
    for user in (lapsed, bought, waiting):
        waitlist.join(tier_id=tier.pk, user=user)

    commerce.cancel(held.pk, actor=SYSTEM)  # the seat comes back: the first in line gets it held for them
    first = WaitlistEntry.objects.get(user=lapsed)
    assert first.status == "offered"
    past = timezone.now() - timedelta(seconds=1)  # their offer runs out untaken
    WaitlistEntry.objects.filter(pk=first.pk).update(offer_expires_at=past)
    Order.objects.filter(pk=first.order_id).update(expires_at=past)
    Hold.objects.filter(order_id=first.order_id).update(expires_at=past)
    stock_snapshot.forget(Hold.objects.filter(order_id=first.order_id).values_list("inventory__key", flat=True))
    assert promote_waiting_lists() == 1
    second = WaitlistEntry.objects.get(user=bought)
    assert second.status == "offered"
    commerce.sandbox_pay(second.order_id)

    client = Client()
    client.force_login(team_member(tier.event.creator, Role.OWNER))
    phone.context.add_cookies([{"name": settings.SESSION_COOKIE_NAME, "url": live_server.url,
                                "value": client.cookies[settings.SESSION_COOKIE_NAME].value}])
    phone.goto(f"/dashboard/events/{tier.event_id}/waitlist/")
    rows = phone.get_by_role("listitem")
    expect(rows.filter(has_text="lapsed@example.com")).to_contain_text("Offer expired")
    expect(rows.filter(has_text="bought@example.com")).to_contain_text("Bought")
    expect(rows.filter(has_text="waiting@example.com")).to_contain_text("#1 in line")
    assert phone.evaluate(LAYOUT_PROBLEMS) == [] and phone.js_errors == []
    phone.screenshot(path=str(artifacts / "waitlist-dashboard-phone.png"), full_page=True)
