"""Passes (punch cards): sold through commerce as kind "pass", created once when paid, voided by a refund;
credits spent under a row lock, once per order line, never below zero even when spent at once.

Redeeming a pass for a ticket goes through events (events/tests/test_member_perks.py): the layering
contract keeps memberships, tests included, from importing events.
"""
import time
from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from commerce import services as commerce
from commerce.models import Order
from commerce.services import LineRequest
from commerce.tests.helpers import run_together
from memberships import services
from memberships.models import Pass, PassProduct, PassRedemption
from microstage.errors import Conflict, Invalid, NotFound
from microstage.tests.factories import CreatorFactory, UserFactory
from microstage.permissions import SYSTEM

pytestmark = pytest.mark.django_db


def product(creator=None, **kw) -> PassProduct:
    defaults = dict(name="Five shows", credits=5, price=Decimal("60.00"), currency="EUR", valid_days=180)
    defaults.update(kw)
    return PassProduct.objects.create(creator=creator or CreatorFactory(), **defaults)


def buy(prod, fan, quantity=1) -> Order:
    return commerce.reserve(requests=[LineRequest(services.PASS_KIND, prod.pk, quantity)], buyer=fan)


def a_pass(credits=3, user=None, expires_in=timedelta(days=30)) -> Pass:
    prod = product(credits=credits)
    return Pass.objects.create(creator=prod.creator, user=user or UserFactory(), product=prod,
                               credits_total=credits, credits_left=credits,
                               expires_at=timezone.now() + expires_in, order_line_id=f"seed-{prod.pk}")


class TestSellingPasses:
    def test_the_offer_is_the_products_price_without_stock(self):
        prod = product()
        order = buy(prod, UserFactory())
        line = order.lines.get()
        assert (line.kind, line.unit_price, line.list_price, order.total) == (
            "pass", Decimal("60.00"), Decimal("60.00"), Decimal("60.00"))
        assert order.creator_id == prod.creator_id and not order.holds.exists()

    def test_paid_creates_the_pass_once(self, sandbox):
        prod = product(credits=5, valid_days=180)
        fan = UserFactory()
        order = buy(prod, fan)
        commerce.sandbox_pay(order.pk)
        commerce.sandbox_pay(order.pk)
        services.issue_pass(order.lines.get())  # a callback run twice
        pass_obj = Pass.objects.get()
        assert (pass_obj.user, pass_obj.creator_id, pass_obj.credits_total, pass_obj.credits_left) == (
            fan, prod.creator_id, 5, 5)
        assert abs(pass_obj.expires_at - (timezone.now() + timedelta(days=180))) < timedelta(minutes=1)
        assert pass_obj.order_line_id == order.lines.get().pk

    def test_refund_voids_the_unused_credits(self, sandbox):
        fan = UserFactory()
        order = buy(product(credits=5), fan)
        commerce.sandbox_pay(order.pk)
        pass_obj = Pass.objects.get()
        services.use_pass_credits(pass_id=pass_obj.pk, user=fan, order_line_id="ln_one", credits=2)
        commerce.refund(order.pk, actor=SYSTEM)
        pass_obj.refresh_from_db()
        assert pass_obj.credits_left == 0 and pass_obj.expires_at <= timezone.now()
        assert PassRedemption.objects.filter(pass_obj=pass_obj).count() == 1  # what it paid for stays

    def test_cancelled_before_payment_makes_no_pass(self):
        order = buy(product(), UserFactory())
        commerce.cancel(order.pk, actor=SYSTEM)
        assert not Pass.objects.exists()

    def test_bad_offers(self):
        prod = product()
        with pytest.raises(Conflict) as exc:
            buy(prod, UserFactory(), quantity=2)
        assert exc.value.code == "limit_exceeded"
        with pytest.raises(NotFound):
            buy(product(is_active=False), UserFactory())
        with pytest.raises(NotFound):
            commerce.reserve(requests=[LineRequest("pass", "pp_nothing", 1)], buyer=UserFactory())
        with pytest.raises(Invalid):
            commerce.reserve(requests=[LineRequest("pass", prod.pk, 1)], buyer=None, email="a@example.com")
        for quantity in (0, -1, 101):
            with pytest.raises(Invalid):
                buy(prod, UserFactory(), quantity=quantity)
        assert not Order.objects.exists()

    def test_through_the_api(self, auth_api, sandbox):
        prod = product()
        r = auth_api.post("/api/v1/orders", {"lines": [{"pass_product": prod.pk, "quantity": 1}]}, format="json")
        assert r.status_code == 201, r.content
        assert auth_api.post(f"/api/v1/orders/{r.json()['id']}/sandbox-pay").json()["status"] == "paid"
        assert Pass.objects.get().user == auth_api.user


class TestSpendingCredits:
    def test_once_per_line_and_never_more_than_left(self):
        pass_obj = a_pass(credits=3)
        fan = pass_obj.user
        first = services.use_pass_credits(pass_id=pass_obj.pk, user=fan, order_line_id="ln_a", credits=2)
        again = services.use_pass_credits(pass_id=pass_obj.pk, user=fan, order_line_id="ln_a", credits=2)
        assert first.pk == again.pk
        pass_obj.refresh_from_db()
        assert pass_obj.credits_left == 1
        with pytest.raises(Conflict) as exc:
            services.use_pass_credits(pass_id=pass_obj.pk, user=fan, order_line_id="ln_b", credits=2)
        assert exc.value.code == "no_credits"

    def test_expired_and_someone_elses(self):
        expired = a_pass(expires_in=-timedelta(seconds=1))
        with pytest.raises(Conflict) as exc:
            services.use_pass_credits(pass_id=expired.pk, user=expired.user, order_line_id="ln_x")
        assert exc.value.code == "pass_expired"
        mine = a_pass()
        with pytest.raises(NotFound):
            services.use_pass_credits(pass_id=mine.pk, user=UserFactory(), order_line_id="ln_y")

    def test_return_once(self):
        pass_obj = a_pass(credits=3)
        services.use_pass_credits(pass_id=pass_obj.pk, user=pass_obj.user, order_line_id="ln_a", credits=2)
        assert services.return_pass_credits(order_line_id="ln_a", credits=2) is True
        assert services.return_pass_credits(order_line_id="ln_a", credits=2) is False
        pass_obj.refresh_from_db()
        assert pass_obj.credits_left == 3


class TestRedemptionChecks:
    """pass_for_redemption: what events.ticket_offer asks before a ticket line is priced at zero."""

    def test_ok(self):
        pass_obj = a_pass(credits=2)
        assert services.pass_for_redemption(pass_id=pass_obj.pk, user=pass_obj.user,
                                            creator_id=pass_obj.creator_id, quantity=2) == pass_obj

    def test_refusals(self):
        pass_obj = a_pass(credits=2)
        checks = [
            (dict(user=UserFactory()), NotFound),
            (dict(user=None), NotFound),
            (dict(creator_id=CreatorFactory().pk), Invalid),
            (dict(quantity=3), Conflict),
            (dict(pass_id="pass_nothing"), NotFound),
        ]
        for change, error in checks:
            kwargs = dict(pass_id=pass_obj.pk, user=pass_obj.user, creator_id=pass_obj.creator_id, quantity=1)
            kwargs.update(change)
            with pytest.raises(error):
                services.pass_for_redemption(**kwargs)


@pytest.mark.django_db(transaction=True)
class TestConcurrentSpending:
    """Ten order lines spend one credit each of a three-credit pass at the same moment."""

    LINES = 10

    def spend_all(self, pass_obj):
        return run_together([lambda i=i: services.use_pass_credits(pass_id=pass_obj.pk, user=pass_obj.user,
                                                                   order_line_id=f"ln_{i}")
                             for i in range(self.LINES)])

    def test_never_more_than_the_credits(self):
        pass_obj = a_pass(credits=3)
        results, errors = self.spend_all(pass_obj)
        assert len(results) == 3 and len(errors) == self.LINES - 3
        assert all(isinstance(e, Conflict) and e.code == "no_credits" for e in errors), errors
        pass_obj.refresh_from_db()
        assert pass_obj.credits_left == 0
        assert PassRedemption.objects.filter(pass_obj=pass_obj).count() == 3

    def test_without_the_lock_the_race_is_real(self, monkeypatch):
        """The same rush with the row lock patched away (and a pause after reading) overspends: proof
        that the test above passes because of the lock."""
        original = Pass.objects.select_for_update

        class Slow:
            def __init__(self, qs):
                self.qs = qs

            def filter(self, *a, **kw):
                return Slow(self.qs.filter(*a, **kw))

            def first(self):
                found = self.qs.first()
                time.sleep(0.05)
                return found

        monkeypatch.setattr(Pass.objects, "select_for_update", lambda *a, **kw: Slow(Pass.objects.all()))
        pass_obj = a_pass(credits=3)
        results, errors = self.spend_all(pass_obj)
        monkeypatch.setattr(Pass.objects, "select_for_update", original)
        assert len(results) > 3  # more redemptions than credits: the overdraw the lock prevents
