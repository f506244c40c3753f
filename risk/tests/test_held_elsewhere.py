"""A risky order waits for the staff decision before its goods are handed over (its payout waits too:
payouts/tests/test_payouts.py)."""
import pytest

from commerce import fulfilment
from commerce.models import Shipment
from commerce.tests.test_fulfilment import paid_product_order
from microstage.errors import Conflict
from microstage.models import Role
from microstage.tests.factories import CreatorFactory, team_member
from risk.models import RiskReview

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("sandbox")]


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
