"""Checkout risk (risk/services.py): attempts recorded with keyed hashes, scores, reviews, refusals.

Orders sell the test-only "seat" kind of helpers.py (commerce knows nothing of events).
"""
from datetime import timedelta

import pytest
from django.utils import timezone

from commerce import gate, services
from commerce.models import Order
from microstage.errors import Conflict
from microstage.models import User
from microstage.payments.models import Payment
from microstage.tests.factories import UserFactory
from risk import services as risk
from risk.models import CheckoutAttempt, RiskReview

from commerce.tests.helpers import buy
from microstage.permissions import SYSTEM

pytestmark = pytest.mark.django_db
IP = "203.0.113.7"


@pytest.fixture
def seat(catalog, sandbox):
    return catalog.add("seat-r", {"tier:seat-r": 500}, price="10.00")


def old_user(**kw):
    return UserFactory(date_joined=timezone.now() - timedelta(days=60), **kw)


def prior(n, *, succeeded=False, minutes_ago=5, **identity):
    """n earlier attempts by the given identity (email=…, ip_hash=…, user=…)."""
    rows = CheckoutAttempt.objects.bulk_create([CheckoutAttempt(succeeded=succeeded, **identity) for _ in range(n)])
    CheckoutAttempt.objects.filter(pk__in=[r.pk for r in rows]).update(
        created_at=timezone.now() - timedelta(minutes=minutes_ago))


def score_now(order, ip=IP):
    attempt = CheckoutAttempt.objects.create(user=order.buyer, email=order.email, ip_hash=risk.keyed_hash("ip", ip),
                                             order=order)
    return risk.score(attempt, order)


class TestScores:
    def test_a_clean_attempt_scores_low(self, seat):
        order = buy(seat, buyer=old_user())
        points, reasons = score_now(order)
        assert points == 0 and reasons == []

    def test_a_brand_new_account_adds_a_little(self, seat):
        points, reasons = score_now(buy(seat, buyer=UserFactory()))
        assert points == risk.NEW_DAY and "account less than a day old" in reasons[0]

    @pytest.mark.parametrize("identity", ["email", "ip", "account"])
    def test_fast_repeated_attempts_raise_the_score(self, seat, identity):
        buyer = old_user(email="fast@example.com")
        order = buy(seat, buyer=buyer)
        baseline, _ = score_now(order)
        ident = {"email": {"email": "fast@example.com"}, "ip": {"ip_hash": risk.keyed_hash("ip", IP)},
                 "account": {"user": buyer}}[identity]
        prior(6, succeeded=True, **ident)
        points, reasons = score_now(order)
        label = {"email": "email", "ip": "IP", "account": "account"}[identity]
        assert points == baseline + risk.HOUR_CAP  # (6 - 2) x 8 = 32, capped at 30
        assert any(r.startswith(f"{label}: 6 other checkout attempts in the last hour") for r in reasons)

    def test_attempts_by_someone_else_do_not_count(self, seat):
        prior(8, succeeded=True, email="other@example.com", ip_hash=risk.keyed_hash("ip", "198.51.100.1"))
        assert score_now(buy(seat, buyer=old_user()))[0] == 0

    def test_old_attempts_fall_out_of_the_hour(self, seat):
        buyer = old_user()
        prior(6, succeeded=True, minutes_ago=90, user=buyer)
        assert score_now(buy(seat, buyer=buyer))[0] == 0  # 6 in the day is below the day's free 10

    def test_failed_attempts_raise_the_score(self, seat):
        ok_buyer, bad_buyer = old_user(), old_user()
        prior(2, succeeded=True, user=ok_buyer)
        prior(2, succeeded=False, user=bad_buyer)
        ok, _ = score_now(buy(seat, buyer=ok_buyer), ip="198.51.100.2")
        bad, reasons = score_now(buy(seat, buyer=bad_buyer), ip="198.51.100.3")
        assert bad == ok + risk.FAILED_POINTS
        assert "2 failed checkout attempts in the last day" in reasons[-1]

    def test_a_jump_over_the_account_history(self, catalog, sandbox):
        catalog.add("cheap", {"tier:cheap": 10}, price="10.00")
        catalog.add("dear", {"tier:dear": 10}, price="60.00")
        buyer = old_user()
        services.sandbox_pay(buy("cheap", buyer=buyer).pk)
        points, reasons = score_now(buy("dear", buyer=buyer))
        assert points == risk.JUMP_5X and "5x" in reasons[0]

    def test_the_score_is_capped_at_100(self, seat):
        ip_hash = risk.keyed_hash("ip", IP)
        prior(30, email="card-tester@example.com", ip_hash=ip_hash)
        order = buy(seat, buyer=UserFactory(email="card-tester@example.com"))
        assert score_now(order)[0] == 100


class TestCheckout:
    def test_every_checkout_is_recorded_and_a_payment_marks_it_succeeded(self, seat):
        order = buy(seat, buyer=old_user())
        services.checkout(order.pk, ip=IP)
        attempt = CheckoutAttempt.objects.get(order=order)
        assert not attempt.succeeded and attempt.ip_hash == risk.keyed_hash("ip", IP)
        services.sandbox_pay(order.pk)
        assert CheckoutAttempt.objects.filter(order=order, succeeded=True).count() == 2  # pay checks out again
        assert not RiskReview.objects.filter(order=order).exists()

    def test_no_raw_ip_or_card_fingerprint_is_stored(self, seat):
        order = buy(seat, buyer=old_user())
        services.checkout(order.pk, ip=IP)
        Payment.objects.filter(pk=Order.objects.get(pk=order.pk).payment_id).update(
            metadata={"card_fingerprint": "fpTEST123"})
        services.sandbox_pay(order.pk)
        rows = list(CheckoutAttempt.objects.values())
        assert rows
        for row in rows:
            text = " ".join(str(v) for v in row.values())
            assert IP not in text and "fpTEST123" not in text
            assert len(row["ip_hash"]) == 64
        assert CheckoutAttempt.objects.filter(card_fingerprint_hash=risk.keyed_hash("card", "fpTEST123")).exists()
        assert risk.keyed_hash("card", "fpTEST123") != risk.keyed_hash("ip", "fpTEST123")

    def test_a_high_score_is_paid_but_held_for_review_once(self, seat):
        ip_hash = risk.keyed_hash("ip", IP)
        prior(5, email="risky@example.com", ip_hash=ip_hash)  # email 24 + IP 24 + failed 24 + new account 10
        order = buy(seat, buyer=UserFactory(email="risky@example.com"))
        services.checkout(order.pk, ip=IP)
        paid = services.sandbox_pay(order.pk)
        assert paid.status == Order.Status.PAID
        review = RiskReview.objects.get(order=order)
        assert 70 <= review.score < 95 and review.status == RiskReview.Status.PENDING and review.reasons
        assert risk.is_held(paid)
        risk.on_paid(Order.objects.get(pk=order.pk))  # a second confirmation opens no second review
        assert RiskReview.objects.filter(order=order).count() == 1

    def test_the_threshold_is_a_setting(self, seat, settings):
        settings.RISK_REVIEW_THRESHOLD = 5
        order = buy(seat, buyer=UserFactory())  # new account: 10
        services.sandbox_pay(order.pk)
        assert RiskReview.objects.get(order=order).score == risk.NEW_DAY

    def test_an_extreme_score_refuses_checkout_and_records_the_attempt(self, seat):
        prior(10, email="bot@example.com", ip_hash=risk.keyed_hash("ip", IP))
        order = buy(seat, buyer=UserFactory(email="bot@example.com"))
        with pytest.raises(Conflict) as exc:
            services.checkout(order.pk, ip=IP)
        assert exc.value.code == "risk_refused" and exc.value.status == 409
        order.refresh_from_db()
        assert order.status == Order.Status.RESERVED and order.payment_id is None
        assert CheckoutAttempt.objects.filter(order=order, succeeded=False).count() == 1

    def test_a_lapsed_or_paid_order_records_nothing(self, seat):
        order = buy(seat, buyer=old_user())
        services.sandbox_pay(order.pk)
        before = CheckoutAttempt.objects.count()
        services.checkout(order.pk, ip=IP)
        assert CheckoutAttempt.objects.count() == before


class TestDecisions:
    @pytest.fixture
    def held(self, seat, settings):
        settings.RISK_REVIEW_THRESHOLD = 5
        order = services.sandbox_pay(buy(seat, 2, buyer=UserFactory()).pk)
        return RiskReview.objects.get(order=order)

    def test_approve_releases_the_order(self, held):
        staff = User.objects.create_superuser(email="staff-r@example.com", password="x-very-long-password-1")
        risk.approve(held.pk, actor=staff)
        held.refresh_from_db()
        assert held.status == RiskReview.Status.APPROVED and held.decided_by == staff and held.decided_at
        assert held.order.status == Order.Status.PAID and not risk.is_held(held.order)
        with pytest.raises(Conflict):
            risk.reject(held.pk, actor=SYSTEM)

    def test_reject_refunds_the_order(self, held):
        risk.reject(held.pk, actor=SYSTEM)
        held.refresh_from_db()
        order = Order.objects.get(pk=held.order_id)
        assert held.status == RiskReview.Status.REJECTED
        assert order.status == Order.Status.REFUNDED and order.refunded_total == order.total
        assert Payment.objects.get(pk=order.payment_id).status == Payment.Status.REFUNDED

    def test_admin_lists_filters_and_decides(self, held, client, seat, settings):
        other = RiskReview.objects.get(order=services.sandbox_pay(buy(seat, buyer=UserFactory()).pk))
        staff = User.objects.create_superuser(email="staff-r2@example.com", password="x-very-long-password-1")
        client.force_login(staff)
        url = "/admin/risk/riskreview/"
        for query in ("", "?status__exact=pending", "?score_band=below-70", f"?q={held.order_id}"):
            response = client.get(url + query)
            assert response.status_code == 200 and held.order_id in response.content.decode()
        response = client.post(url, {"action": "reject_reviews", "_selected_action": [held.pk]}, follow=True)
        assert response.status_code == 200 and "Rejected and refunded 1" in response.content.decode()
        client.post(url, {"action": "approve_reviews", "_selected_action": [other.pk, held.pk]}, follow=True)
        held.refresh_from_db()
        other.refresh_from_db()
        assert held.status == RiskReview.Status.REJECTED and other.status == RiskReview.Status.APPROVED
        assert Order.objects.get(pk=held.order_id).status == Order.Status.REFUNDED

    def test_the_admin_address_from_before_the_move_leads_here(self, client):
        before = "commerce"  # the app label the models had
        response = client.get(f"/admin/{before}/riskreview/?status__exact=pending")
        assert response.status_code == 308 and response["Location"] == "/admin/risk/riskreview/?status__exact=pending"
        response = client.post(f"/admin/{before}/checkoutattempt/1/change/")
        assert response.status_code == 308 and response["Location"] == "/admin/risk/checkoutattempt/1/change/"


class TestClientIp:
    def checkout(self, make_api, seat, **headers):
        order = buy(seat, buyer=old_user())
        response = make_api(order.buyer).post(f"/api/v1/orders/{order.pk}/checkout", **headers)
        return response, CheckoutAttempt.objects.get(order=order)

    def test_api_checkout_passes_remote_addr(self, make_api, seat):
        response, attempt = self.checkout(make_api, seat, REMOTE_ADDR=IP, HTTP_X_FORWARDED_FOR="198.51.100.9")
        assert response.status_code == 200
        assert attempt.ip_hash == risk.keyed_hash("ip", IP)  # X-Forwarded-For is not trusted by default

    def test_forwarded_for_only_when_the_setting_says_so(self, make_api, seat, settings):
        settings.RISK_TRUST_X_FORWARDED_FOR = True
        _, attempt = self.checkout(make_api, seat, REMOTE_ADDR="10.0.0.1",
                                   HTTP_X_FORWARDED_FOR="1.2.3.4, 198.51.100.9")
        assert attempt.ip_hash == risk.keyed_hash("ip", "198.51.100.9")  # the entry our proxy appended

    def test_api_refusal_is_409_risk_refused(self, make_api, seat):
        prior(10, email="bot2@example.com", ip_hash=risk.keyed_hash("ip", IP))
        order = buy(seat, buyer=UserFactory(email="bot2@example.com"))
        response = make_api(order.buyer).post(f"/api/v1/orders/{order.pk}/checkout", REMOTE_ADDR=IP)
        assert response.status_code == 409
        assert response.json()["code"] == "risk_refused" and "Nothing was charged" in response.json()["detail"]

    def test_the_pay_button_passes_the_ip_and_shows_a_refusal(self, client, seat):
        prior(10, email="bot3@example.com", ip_hash=risk.keyed_hash("ip", IP))
        order = buy(seat, buyer=UserFactory(email="bot3@example.com"))
        client.force_login(order.buyer)
        response = client.post(f"/orders/{order.pk}/pay/", REMOTE_ADDR=IP, follow=True)
        assert response.status_code == 200 and "Nothing was charged" in response.content.decode()
        assert CheckoutAttempt.objects.get(order=order).ip_hash == risk.keyed_hash("ip", IP)

    def test_garbage_ip_is_ignored(self, rf):
        request = rf.get("/", REMOTE_ADDR="not-an-ip")
        assert gate.client_ip(request) == ""
