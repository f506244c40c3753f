"""Refunds made at the payment provider (e.g. in Stripe's dashboard) reach the order and the ledger."""
from decimal import Decimal

import pytest

from commerce import services
from commerce.models import Order
from payouts.models import LedgerEntry
from commerce.models.inventory import Inventory
from microstage.payments.events import Kind, PaymentEvent
from microstage.payments.services import handle_event

from commerce.tests.helpers import KIND
from microstage.permissions import SYSTEM

pytestmark = pytest.mark.django_db


def _paid(catalog, price="20.00"):
    catalog.add("seat", {"pool:seat": 5}, price=price)
    order = services.reserve(requests=[services.LineRequest(KIND, "seat", 1)], email="fan@example.com")
    services.sandbox_pay(order.pk)
    return Order.objects.get(pk=order.pk)


def _provider_refund(order, amount, event_id):
    return handle_event(PaymentEvent(provider="sandbox", event_id=event_id, kind=Kind.REFUNDED,
                                     payment_id=order.payment_id, amount=Decimal(amount)))


def test_a_full_refund_at_the_provider_refunds_the_order_here(catalog, sandbox):
    order = _paid(catalog)
    _provider_refund(order, "20.00", "dash-refund-1")
    _provider_refund(order, "20.00", "dash-refund-1b")  # told again: nothing more
    order.refresh_from_db()
    assert order.status == Order.Status.REFUNDED and order.refunded_total == Decimal("20.00")
    assert Inventory.objects.get(key="pool:seat").sold == 0  # stock back
    assert LedgerEntry.objects.filter(order=order, kind=LedgerEntry.Kind.REFUND).count() == 1


def test_a_partial_refund_at_the_provider_is_recorded_for_the_team(catalog, sandbox):
    order = _paid(catalog)
    _provider_refund(order, "5.00", "dash-refund-2")
    order.refresh_from_db()
    assert order.status == Order.Status.PARTIALLY_REFUNDED and order.refunded_total == Decimal("5.00")
    assert "payment provider" in order.note


def test_a_refund_made_here_is_not_counted_twice(catalog, sandbox):
    order = _paid(catalog)
    services.refund(order.pk, actor=SYSTEM)
    order.refresh_from_db()
    assert order.status == Order.Status.REFUNDED and order.refunded_total == Decimal("20.00")
    assert order.payment.refunded_amount == Decimal("20.00")
