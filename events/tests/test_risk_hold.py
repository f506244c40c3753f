"""A risky order held for review delivers nothing (no tickets, downloads, passes, ledger sale or
loyalty points) until staff approve it — then it is delivered once; a rejected one is refunded."""
from decimal import Decimal

import pytest
from django.core import mail
from django.core.files.uploadedfile import SimpleUploadedFile

from commerce import services
from catalog import services as catalog
from payouts import money
from risk import services as risk
from commerce.models import Order
from risk.models import RiskReview
from events.models import Ticket
from events.models import TICKET_KIND
from events.tests.factories import TierFactory
from memberships.models import LoyaltyEntry
from microstage.errors import Conflict, Forbidden
from microstage.payments.models import Payment
from microstage.tests.factories import UserFactory
from microstage.permissions import SYSTEM

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _settings(settings, tmp_path):
    settings.PAYMENTS_PROVIDER = "sandbox"
    settings.MEDIA_ROOT = tmp_path
    settings.RISK_REVIEW_THRESHOLD = 5  # a brand-new account scores 10: every order here is held


@pytest.fixture
def held(django_capture_on_commit_callbacks):
    """A new account buys two tickets and a digital album in one order; it is held for review."""
    tier = TierFactory(quantity=10, price=Decimal("20.00"))
    album = catalog.create_product(creator=tier.event.creator, name="Live album", price=Decimal("10.00"),
                                   kind="digital", stock=100,
                                   digital_file=SimpleUploadedFile("album.zip", b"PK-album-bytes"), actor=SYSTEM)
    buyer = UserFactory()
    order = services.reserve(requests=[services.LineRequest(TICKET_KIND, tier.pk, 2),
                                       services.LineRequest(catalog.PRODUCT_KIND, album.variants.get().pk, 1)],
                             buyer=buyer)
    mail.outbox.clear()
    with django_capture_on_commit_callbacks(execute=True):  # the emails go out on commit
        services.sandbox_pay(order.pk)
    order.refresh_from_db()
    order.review = RiskReview.objects.get(order=order)
    return order


def album_line(order):
    return order.lines.get(kind=catalog.PRODUCT_KIND)


def creator_available(order) -> Decimal:
    return money.balance(order.creator_id, order.currency).available


def test_a_held_order_is_paid_but_delivers_nothing(held, client):
    assert held.status == Order.Status.PAID and risk.is_held(held)
    assert not Ticket.objects.filter(order_line__order=held).exists()
    assert catalog.downloads_for(held, held.buyer) == []
    token = catalog.download_token(album_line(held), held.buyer)
    with pytest.raises(Forbidden):
        catalog.open_download(token, held.buyer)
    client.force_login(held.buyer)
    assert client.get(f"/downloads/{token}/").status_code == 403
    page = client.get(held.get_absolute_url()).content.decode()
    assert "We are checking this order" in page and "You're in!" not in page
    # Its money is not the creator's to pay out yet, and no points were earned on it.
    assert creator_available(held) == Decimal("0.00")
    assert not LoyaltyEntry.objects.filter(account__user=held.buyer).exists()
    # The buyer hears it is being checked, not a confirmation with tickets.
    assert [m.subject for m in mail.outbox if "checking" in m.subject.lower()]
    assert not [m for m in mail.outbox if "You're in" in m.body or "Tickets with QR codes" in m.body]


def test_approval_delivers_once(held, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        risk.approve(held.review.pk, actor=SYSTEM)
    order = Order.objects.get(pk=held.pk)
    assert Ticket.objects.filter(order_line__order=order, status=Ticket.Status.VALID).count() == 2
    [download] = catalog.downloads_for(order, order.buyer)
    assert catalog.open_download(download["token"], order.buyer)[1] == "live-album.zip"  # named after the product
    fee = money.platform_fee(order.total)
    assert creator_available(order) == order.total - fee
    assert [m for m in mail.outbox if "Tickets with QR codes" in m.body]
    with pytest.raises(Conflict):
        risk.approve(held.review.pk, actor=SYSTEM)
    assert Ticket.objects.filter(order_line__order=order).count() == 2
    assert creator_available(order) == order.total - fee


def test_rejection_refunds_and_delivers_nothing(held):
    risk.reject(held.review.pk, actor=SYSTEM)
    order = Order.objects.get(pk=held.pk)
    assert order.status == Order.Status.REFUNDED and order.refunded_total == order.total
    assert Payment.objects.get(pk=order.payment_id).status == Payment.Status.REFUNDED
    assert not Ticket.objects.exists()
    assert catalog.downloads_for(order, order.buyer) == []
    assert creator_available(order) == Decimal("0.00")
    assert not LoyaltyEntry.objects.filter(account__user=order.buyer).exists()


def test_a_held_order_is_refunded_whole_or_not_at_all(held):
    with pytest.raises(Conflict) as exc:
        services.refund(held.pk, line_ids=[album_line(held).pk], actor=SYSTEM)
    assert exc.value.code == "held_for_review"
    services.refund(held.pk, actor=SYSTEM)
    assert Order.objects.get(pk=held.pk).status == Order.Status.REFUNDED
    risk.approve(held.review.pk, actor=SYSTEM)  # refunded meanwhile: approval only marks the review
    assert not Ticket.objects.exists()
    assert creator_available(held) == Decimal("0.00")
