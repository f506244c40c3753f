"""Loyalty: an append-only ledger, awards once per key, purchase and referral points through commerce's
order_paid signal, the referral link /r/<code>/, and redemptions that never overdraw a balance or a
reward's stock, even all at once (threads on real PostgreSQL).

Attendance points at check-in are tested with real tickets in events/tests/test_member_perks.py.
"""
import time
from decimal import Decimal

import pytest
from django.test import Client

from commerce import services as commerce
from commerce.tests.helpers import KIND, buy, run_together
from memberships import referrals, services
from memberships.models import LoyaltyAccount, LoyaltyEntry, Referral, Reward, RewardRedemption
from memberships.referral_views import SESSION_KEY
from microstage.errors import Conflict, Invalid, NotFound
from microstage.tests.factories import PASSWORD, CreatorFactory, UserFactory
from microstage.permissions import SYSTEM

pytestmark = pytest.mark.django_db


def balance(user, creator_id) -> int:
    account = LoyaltyAccount.objects.filter(user=user, creator_id=creator_id).first()
    return account.balance if account else 0


def give(user, creator_id, points, key=None):
    return services.award(user=user, creator_id=creator_id, points=points, reason=LoyaltyEntry.Reason.ADJUSTMENT,
                          key=key or f"test:{user.pk}:{points}:{time.monotonic_ns()}")


def ledger_sum(user, creator_id) -> int:
    return sum(LoyaltyEntry.objects.filter(account__user=user, account__creator_id=creator_id)
               .values_list("points", flat=True))


class TestLedger:
    def test_an_award_happens_once_per_key(self):
        fan, creator = UserFactory(), CreatorFactory()
        assert give(fan, creator.pk, 30, key="once") is not None
        assert give(fan, creator.pk, 30, key="once") is None
        assert balance(fan, creator.pk) == 30 == ledger_sum(fan, creator.pk)

    def test_awards_are_positive(self):
        with pytest.raises(Invalid):
            give(UserFactory(), CreatorFactory().pk, 0)
        with pytest.raises(Invalid):
            give(UserFactory(), CreatorFactory().pk, -5)

    def test_a_redemption_is_a_negative_entry_and_a_code(self):
        fan, creator = UserFactory(), CreatorFactory()
        reward = Reward.objects.create(creator=creator, name="Backstage", kind=Reward.Kind.BACKSTAGE_UPGRADE,
                                       cost_points=40, stock=2)
        give(fan, creator.pk, 100)
        redemption = services.redeem_reward(user=fan, reward_id=reward.pk)
        assert redemption.code.startswith("MS_") and redemption.status == RewardRedemption.Status.ISSUED
        assert balance(fan, creator.pk) == 60 == ledger_sum(fan, creator.pk)
        reward.refresh_from_db()
        assert reward.stock == 1

    def test_not_enough_points_or_stock(self):
        fan, creator = UserFactory(), CreatorFactory()
        reward = Reward.objects.create(creator=creator, name="Poster", kind=Reward.Kind.FREE_ITEM, cost_points=50,
                                       stock=1)
        give(fan, creator.pk, 49)
        with pytest.raises(Conflict) as exc:
            services.redeem_reward(user=fan, reward_id=reward.pk)
        assert exc.value.code == "not_enough_points"
        give(fan, creator.pk, 100)
        services.redeem_reward(user=fan, reward_id=reward.pk)
        with pytest.raises(Conflict) as exc:
            services.redeem_reward(user=fan, reward_id=reward.pk)
        assert exc.value.code == "out_of_stock"
        with pytest.raises(NotFound):
            services.redeem_reward(user=fan, reward_id="rwd_nothing")


class TestPurchaseAndReferralPoints:
    """Through commerce's order_paid signal, with commerce's test-only kind (no events needed)."""

    def test_purchase_points_once_per_order(self, catalog, sandbox):
        item = catalog.add("seat", {"tier:seat": 10}, price="12.50")
        fan = UserFactory()
        order = buy(item, 2, buyer=fan)
        commerce.sandbox_pay(order.pk)
        commerce.sandbox_pay(order.pk)
        services.on_order_paid(sender=None, order=order.__class__.objects.get(pk=order.pk))  # a replayed signal
        assert balance(fan, catalog.creator_id) == 25
        assert LoyaltyEntry.objects.filter(reason=LoyaltyEntry.Reason.PURCHASE).count() == 1

    def test_free_orders_earn_nothing(self, catalog):
        item = catalog.add("free", {"tier:free": 10}, price="0.00")
        fan = UserFactory()
        commerce.checkout(buy(item, 1, buyer=fan).pk)
        assert balance(fan, catalog.creator_id) == 0

    def test_referral_points_at_the_first_paid_order_only(self, catalog, sandbox):
        item = catalog.add("seat", {"tier:seat": 10}, price="10.00")
        referrer, fan = UserFactory(), UserFactory()
        code = services.referral_code(referrer, catalog.creator_id)
        assert referrals.record_referral(code=code, referred=fan) is not None
        commerce.sandbox_pay(buy(item, 1, buyer=fan).pk)
        commerce.sandbox_pay(buy(item, 1, buyer=fan).pk)
        assert balance(referrer, catalog.creator_id) == referrals.REFERRAL_POINTS
        assert LoyaltyEntry.objects.filter(reason=LoyaltyEntry.Reason.REFERRAL).count() == 1

    def test_referral_farming_no_longer_pays(self, catalog, sandbox):
        """The outside review grew one referrer from 1 to 401 points: existing customers opening the link,
        and free orders counting as referred purchases. Neither counts now."""
        free = catalog.add("free", {"tier:free": 50}, price="0.00")
        referrer = UserFactory()
        give(referrer, catalog.creator_id, 1)
        code = services.referral_code(referrer, catalog.creator_id)
        for _ in range(4):
            customer = UserFactory()
            commerce.checkout(buy(free, 1, buyer=customer).pk)          # an existing customer ...
            client = Client()
            client.force_login(customer)
            client.get(f"/r/{code}/")                                    # ... opens the link
            commerce.checkout(buy(free, 1, buyer=customer).pk)          # ... and orders for free again
        newcomer = UserFactory()
        referrals.record_referral(code=code, referred=newcomer)           # a real new account ...
        commerce.checkout(buy(free, 1, buyer=newcomer).pk)              # ... whose free order counts for nothing
        assert balance(referrer, catalog.creator_id) == 1
        assert LoyaltyEntry.objects.filter(reason=LoyaltyEntry.Reason.REFERRAL).count() == 0

    def test_first_paid_order_below_the_minimum_closes_the_referral(self, catalog, sandbox, settings):
        settings.REFERRAL_MIN_ORDER = "20.00"
        cheap = catalog.add("sticker", {"tier:sticker": 10}, price="5.00")
        dear = catalog.add("seat", {"tier:seat": 10}, price="25.00")
        referrer, fan = UserFactory(), UserFactory()
        referrals.record_referral(code=services.referral_code(referrer, catalog.creator_id), referred=fan)
        commerce.sandbox_pay(buy(cheap, 1, buyer=fan).pk)
        commerce.sandbox_pay(buy(dear, 1, buyer=fan).pk)                 # not the first paid order any more
        assert balance(referrer, catalog.creator_id) == 0
        assert Referral.objects.get(referred=fan).status == Referral.Status.NOT_ELIGIBLE

    def test_old_accounts_cannot_be_referred(self, catalog):
        from datetime import timedelta

        from django.utils import timezone

        referrer, old = UserFactory(), UserFactory()
        old.date_joined = timezone.now() - timedelta(days=30)
        old.save(update_fields=["date_joined"])
        assert referrals.record_referral(code=services.referral_code(referrer, catalog.creator_id),
                                        referred=old) is None

    def test_refund_takes_the_referral_points_back_once(self, catalog, sandbox):
        item = catalog.add("seat", {"tier:seat": 10}, price="30.00")
        referrer, fan = UserFactory(), UserFactory()
        give(referrer, catalog.creator_id, 7)
        referrals.record_referral(code=services.referral_code(referrer, catalog.creator_id), referred=fan)
        order = buy(item, 1, buyer=fan)
        commerce.sandbox_pay(order.pk)
        assert balance(referrer, catalog.creator_id) == 7 + referrals.REFERRAL_POINTS
        commerce.refund(order.pk, actor=SYSTEM)
        referrals.on_order_refunded(sender=None, order=order.__class__.objects.get(pk=order.pk))  # replayed
        assert balance(referrer, catalog.creator_id) == 7 == ledger_sum(referrer, catalog.creator_id)
        assert Referral.objects.get(referred=fan).status == Referral.Status.REVERSED
        commerce.sandbox_pay(buy(item, 1, buyer=fan).pk)                 # once per referred person
        assert balance(referrer, catalog.creator_id) == 7

    def test_nobody_refers_themselves_and_the_first_link_wins(self, catalog):
        fan, first, second = UserFactory(), UserFactory(), UserFactory()
        assert referrals.record_referral(code=services.referral_code(fan, catalog.creator_id), referred=fan) is None
        referrals.record_referral(code=services.referral_code(first, catalog.creator_id), referred=fan)
        referrals.record_referral(code=services.referral_code(second, catalog.creator_id), referred=fan)
        assert Referral.objects.get(referred=fan).referrer == first


class TestReferralLink:
    @pytest.fixture
    def code(self):
        self.creator = CreatorFactory()
        self.referrer = UserFactory()
        return services.referral_code(self.referrer, self.creator.pk)

    def test_remembered_then_recorded_at_sign_up(self, code):
        client = Client()
        r = client.get(f"/r/{code}/")
        assert r.status_code == 302 and r["Location"] == f"/c/{self.creator.slug}/"
        assert client.session[SESSION_KEY] == code
        r = client.post("/accounts/signup/", {"email": "newfan@example.com", "password1": PASSWORD,
                                              "password2": PASSWORD})
        assert r.status_code == 302, r.content.decode()[:2000]
        referral = Referral.objects.get(referred__email="newfan@example.com")
        assert (referral.referrer, referral.creator) == (self.referrer, self.creator)
        assert SESSION_KEY not in client.session

    def test_an_existing_account_logging_in_through_the_link_records_nothing(self, code):
        # Only a new account counts: a referral link followed by an old customer's log-in is no referral.
        fan = UserFactory()
        client = Client()
        client.get(f"/r/{code}/")
        r = client.post("/accounts/login/", {"login": fan.email, "password": PASSWORD})
        assert r.status_code == 302, r.content.decode()[:2000]
        assert not Referral.objects.exists()

    def test_a_logged_in_visitor_opening_the_link_records_nothing(self, code):
        fan = UserFactory()
        client = Client()
        client.force_login(fan)
        assert client.get(f"/r/{code}/").status_code == 302
        assert not Referral.objects.exists()

    def test_own_link_and_unknown_codes(self, code):
        client = Client()
        client.force_login(self.referrer)
        client.get(f"/r/{code}/")
        assert not Referral.objects.exists()
        for bad in ("ref_nothing", "x" * 200, "%00"):
            assert Client().get(f"/r/{bad}/").status_code == 404

    def test_a_plain_log_in_records_nothing(self):
        fan = UserFactory()
        r = Client().post("/accounts/login/", {"login": fan.email, "password": PASSWORD})
        assert r.status_code == 302 and not Referral.objects.exists()


@pytest.mark.django_db(transaction=True)
class TestConcurrentRedemptions:
    def test_a_balance_never_goes_below_zero(self):
        """One fan with 250 points redeems a 100-point reward from eight devices at once: exactly two win."""
        fan, creator = UserFactory(), CreatorFactory()
        reward = Reward.objects.create(creator=creator, name="Signed setlist", kind=Reward.Kind.FREE_ITEM,
                                       cost_points=100, stock=50)
        give(fan, creator.pk, 250)
        results, errors = run_together([lambda: services.redeem_reward(user=fan, reward_id=reward.pk)
                                        for _ in range(8)])
        assert len(results) == 2 and len(errors) == 6
        assert all(isinstance(e, Conflict) and e.code == "not_enough_points" for e in errors), errors
        assert balance(fan, creator.pk) == 50 == ledger_sum(fan, creator.pk)
        reward.refresh_from_db()
        assert reward.stock == 48
        assert RewardRedemption.objects.count() == 2

    def test_a_rewards_stock_never_goes_below_zero(self):
        """Ten fans with enough points race for the last three of a reward."""
        creator = CreatorFactory()
        reward = Reward.objects.create(creator=creator, name="Backstage", kind=Reward.Kind.BACKSTAGE_UPGRADE,
                                       cost_points=10, stock=3)
        fans = [UserFactory() for _ in range(10)]
        for fan in fans:
            give(fan, creator.pk, 10)
        results, errors = run_together([lambda f=f: services.redeem_reward(user=f, reward_id=reward.pk)
                                        for f in fans])
        assert len(results) == 3 and len(errors) == 7
        assert all(isinstance(e, Conflict) and e.code == "out_of_stock" for e in errors), errors
        reward.refresh_from_db()
        assert reward.stock == 0
        assert sum(balance(f, creator.pk) for f in fans) == 70

    def test_awards_and_spending_at_once_keep_the_ledger_and_balance_equal(self):
        fan, creator = UserFactory(), CreatorFactory()
        reward = Reward.objects.create(creator=creator, name="Sticker", kind=Reward.Kind.FREE_ITEM, cost_points=10,
                                       stock=100)
        give(fan, creator.pk, 30)
        funcs = [lambda: services.redeem_reward(user=fan, reward_id=reward.pk) for _ in range(6)]
        funcs += [lambda i=i: give(fan, creator.pk, 5, key=f"concurrent:{i}") for i in range(6)]
        run_together(funcs)
        account = LoyaltyAccount.objects.get(user=fan, creator=creator)
        assert account.balance >= 0
        assert account.balance == ledger_sum(fan, creator.pk)
        spent = RewardRedemption.objects.count()
        assert account.balance == 30 + 30 - 10 * spent
        reward.refresh_from_db()
        assert reward.stock == 100 - spent


def test_the_kind_helper_is_commerces():
    assert KIND == "test_seat"  # the test-only kind these purchase tests sell (commerce/tests/helpers.py)
    assert Decimal("12.50") * 2 == Decimal("25.00")
