"""A risky order waits for the staff decision everywhere: no payout of its sale, no hand-over of its goods."""
from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from commerce import fulfilment, payouts
from commerce.models import Shipment
from commerce.tests.test_fulfilment import paid_product_order
from commerce.tests.test_payouts import paid_seat
from microstage.errors import Conflict
from microstage.models import Role
from microstage.tests.factories import CreatorFactory, team_member
from risk.models import RiskReview

D = Decimal
pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("sandbox")]


def test_risk_review_holds_until_approved(catalog, sandbox, settings):
    """A seat sold outside a show: its sale settles PAYOUT_SETTLING_HOURS after payment, unless held."""
    catalog.add("seat", {"pool:seat": 50}, price="10.00")
    order = paid_seat(catalog)
    review = RiskReview.objects.create(order=order, score=80, reasons=["test"])
    later = timezone.now() + timedelta(hours=settings.PAYOUT_SETTLING_HOURS, minutes=1)
    assert payouts.split(order.creator_id, "EUR", later) == payouts.Split("EUR", D("0"), D("0"), D("9.50"))
    assert payouts.create_payout(order.creator_id, "EUR", key="k1", now=later) is None  # nothing due
    review.status = RiskReview.Status.APPROVED
    review.save()
    assert payouts.split(order.creator_id, "EUR", later) == payouts.Split("EUR", D("0"), D("9.50"), D("0"))


def test_an_order_held_for_risk_review_is_not_handed_over():
    """Fulfilment waits for the staff decision on a risky order (risk/services.py)."""
    creator = CreatorFactory()
    owner = team_member(creator, Role.OWNER)
    order = paid_product_order(creator)
    fulfilment.set_shipping_address(user=order.buyer, order_id=order.pk, address="1 Road, Town")
    RiskReview.objects.create(order=order, score=90, reasons=["test"])
    shipment = Shipment.objects.get(order=order)
    with pytest.raises(Conflict) as exc:
        fulfilment.mark_shipped(actor=owner, shipment_id=shipment.pk, carrier="DHL", tracking_number="T1")
    assert exc.value.code == "held_for_review"
    RiskReview.objects.filter(order=order).update(status=RiskReview.Status.APPROVED)
    assert fulfilment.mark_shipped(actor=owner, shipment_id=shipment.pk, carrier="DHL", tracking_number="T1").shipped_at
