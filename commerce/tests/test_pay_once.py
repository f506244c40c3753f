"""Many payments of one order at once take the money once: checkout starts its payment under the
order's lock, so concurrent attempts share it; nothing is captured twice and refunded again."""
import pytest

from commerce import services
from commerce.models import Order
from microstage.payments.models import Payment

from .helpers import buy, run_together

pytestmark = pytest.mark.django_db(transaction=True)


def test_fifty_concurrent_payments_of_one_order_capture_once(catalog, sandbox):
    item = catalog.add("seat", {"tier:once": 10}, price="25.00")
    order = buy(item, 2)
    results, errors = run_together([lambda: services.sandbox_pay(order.pk) for _ in range(50)], timeout=120)
    assert errors == []
    payments = Payment.objects.filter(reference=order.pk)
    assert payments.count() == 1
    payment = payments.get()
    assert payment.status == Payment.Status.CAPTURED and payment.refunded_amount == 0
    order.refresh_from_db()
    assert order.status == Order.Status.PAID and order.payment_id == payment.pk and order.refunded_total == 0
    assert len(catalog.names("paid")) == 1


def test_concurrent_checkouts_share_one_pending_payment(catalog, sandbox):
    item = catalog.add("seat", {"tier:share": 10}, price="25.00")
    order = buy(item, 1)
    results, errors = run_together([lambda: services.checkout(order.pk) for _ in range(10)])
    assert errors == []
    assert Payment.objects.filter(reference=order.pk).count() == 1
    assert len({r.checkout_url.rstrip("/").rsplit("/", 1)[-1] for r in results}) == 1  # one checkout session
