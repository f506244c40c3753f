"""Purchase points come back out on refund and on chargeback, as "reversal" entries in the fan's
ledger, never below zero (points already redeemed stay spent); a chargeback the creator wins gives
them back."""
from decimal import Decimal

import pytest

from commerce import services as commerce
from commerce.models import Order
from commerce.services import LineRequest
from commerce.tests.helpers import KIND
from commerce.tests.money_helpers import awaiting_stripe, dispute, intent_succeeded
from memberships import services
from memberships.models import LoyaltyAccount, LoyaltyEntry, Reward
from microstage.tests.factories import UserFactory
from microstage.permissions import SYSTEM

pytestmark = pytest.mark.django_db


def account(user, creator_id) -> LoyaltyAccount:
    return LoyaltyAccount.objects.get(user=user, creator_id=creator_id)


def entries(user) -> list[tuple[int, str]]:
    return sorted((e.points, e.reason) for e in LoyaltyEntry.objects.filter(account__user=user))


def sandbox_order(catalog, lines=(("a", 2),), buyer=None) -> Order:
    for item, _ in lines:
        if item not in catalog.items:
            catalog.add(item, {f"pool:{item}": 10}, price="20.00")
    order = commerce.reserve(requests=[LineRequest(KIND, item, qty) for item, qty in lines],
                             buyer=buyer or UserFactory())
    return commerce.sandbox_pay(order.pk)


class TestRefund:
    def test_a_full_refund_reverses_the_purchase_points(self, catalog, sandbox):
        order = sandbox_order(catalog)
        assert account(order.buyer, order.creator_id).balance == 40
        commerce.refund(order.pk, actor=SYSTEM)
        assert account(order.buyer, order.creator_id).balance == 0
        assert entries(order.buyer) == [(-40, "reversal"), (40, "purchase")]
        reversal = LoyaltyEntry.objects.get(reason="reversal")
        assert order.pk in reversal.note and reversal.get_reason_display().startswith("Reversed")

    def test_a_partial_refund_reverses_its_share_once(self, catalog, sandbox):
        order = sandbox_order(catalog, lines=(("a", 1), ("b", 3)))  # 20 + 60: 80 points
        line_a = order.lines.get(item_id="a")
        commerce.refund(order.pk, line_ids=[line_a.pk], actor=SYSTEM)
        assert account(order.buyer, order.creator_id).balance == 60
        commerce.refund(order.pk, actor=SYSTEM)
        assert account(order.buyer, order.creator_id).balance == 0
        assert entries(order.buyer) == [(-60, "reversal"), (-20, "reversal"), (80, "purchase")]

    def test_never_below_what_was_already_redeemed(self, catalog, sandbox):
        order = sandbox_order(catalog)  # 40 points
        reward = Reward.objects.create(creator_id=order.creator_id, name="Poster", kind=Reward.Kind.FREE_ITEM,
                                       cost_points=30, stock=5)
        services.redeem_reward(user=order.buyer, reward_id=reward.pk)
        commerce.refund(order.pk, actor=SYSTEM)
        acct = account(order.buyer, order.creator_id)
        assert acct.balance == 0  # only the 10 left could be taken back
        assert entries(order.buyer) == [(-30, "redemption"), (-10, "reversal"), (40, "purchase")]

    def test_the_refund_api_and_the_points_page_show_the_reversal(self, catalog, sandbox, make_api, client):
        from microstage.models import Creator, Role
        from microstage.tests.factories import team_member

        order = sandbox_order(catalog)
        owner = team_member(Creator.objects.get(pk=order.creator_id), Role.OWNER)
        assert make_api(owner).post(f"/api/v1/orders/{order.pk}/refund", {}, format="json").status_code == 200
        body = make_api(order.buyer).get("/api/v1/me/loyalty").json()
        assert body["balance"] == 0
        assert sorted((e["points"], e["reason"]) for e in body["entries"]) == [(-40, "reversal"), (40, "purchase")]
        client.force_login(order.buyer)
        assert "Reversed (refund or chargeback)" in client.get("/account/points/").content.decode()


class TestChargeback:
    def stripe_order(self, catalog):
        catalog.add("c", {"pool:c": 5}, price="40.00")
        order = commerce.reserve(requests=[LineRequest(KIND, "c", 1)], buyer=UserFactory())
        payment = awaiting_stripe(order, "pi_loyal")
        assert intent_succeeded(payment, "evt_paid_loyal") == 200
        return Order.objects.get(pk=order.pk), payment

    def test_a_chargeback_reverses_once_and_a_lost_one_stays_reversed(self, catalog, fake_stripe):
        order, payment = self.stripe_order(catalog)
        assert account(order.buyer, order.creator_id).balance == 40
        for event_id in ("evt_d1", "evt_d1", "evt_d1_again"):
            assert dispute(payment, event_id, "dp_loyal") == 200
        assert account(order.buyer, order.creator_id).balance == 0
        assert dispute(payment, "evt_lost", "dp_loyal", kind="closed", status="lost") == 200
        assert account(order.buyer, order.creator_id).balance == 0
        assert entries(order.buyer) == [(-40, "reversal"), (40, "purchase")]

    def test_a_won_chargeback_gives_the_points_back(self, catalog, fake_stripe):
        order, payment = self.stripe_order(catalog)
        assert dispute(payment, "evt_d2", "dp_won") == 200
        assert dispute(payment, "evt_won", "dp_won", kind="closed", status="won") == 200
        assert dispute(payment, "evt_won", "dp_won", kind="closed", status="won") == 200
        assert account(order.buyer, order.creator_id).balance == 40
        assert entries(order.buyer) == [(-40, "reversal"), (40, "adjustment"), (40, "purchase")]

    def test_a_partial_chargeback_reverses_its_share(self, catalog, fake_stripe):
        order, payment = self.stripe_order(catalog)
        assert dispute(payment, "evt_d3", "dp_part", amount=Decimal("10.00")) == 200
        assert account(order.buyer, order.creator_id).balance == 30
