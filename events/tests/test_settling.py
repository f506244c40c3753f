"""Ticket, drop and tip money settles after the show it belongs to (plus the settling period)."""
from datetime import timedelta
from decimal import Decimal

import pytest

from commerce import services
from payouts import money, services as payouts
from payouts.models import LedgerEntry
from commerce.services import LineRequest
from events.models import TICKET_KIND
from microstage.tests.factories import UserFactory

from .factories import TierFactory

pytestmark = pytest.mark.django_db


def test_ticket_sale_is_pending_until_its_show_has_ended_and_settled(settings):
    settings.PAYMENTS_PROVIDER = "sandbox"
    settings.PAYOUT_SETTLING_HOURS = 24
    tier = TierFactory(price=Decimal("20.00"))
    order = services.reserve(requests=[LineRequest(TICKET_KIND, tier.pk, 2)], buyer=UserFactory())
    services.sandbox_pay(order.pk)
    release = tier.event.ends_at + timedelta(hours=24)
    assert LedgerEntry.objects.get(key=f"sale:{order.pk}").available_at == release
    assert payouts.split(tier.event.creator_id, "EUR").pending == Decimal("38.00")
    assert payouts.split(tier.event.creator_id, "EUR", release).available == Decimal("38.00")


def test_a_tip_during_a_show_settles_with_the_show(settings):
    settings.PAYMENTS_PROVIDER = "sandbox"
    tier = TierFactory()
    order = money.create_tip_order(user=UserFactory(), creator_id=tier.event.creator_id, amount="5.00",
                                   event_id=tier.event.pk)
    services.sandbox_pay(order.pk)
    assert LedgerEntry.objects.get(key=f"sale:{order.pk}").available_at == tier.event.ends_at + timedelta(
        hours=settings.PAYOUT_SETTLING_HOURS)
