"""Fan pages for memberships through the real views: plans (join, buy a pass), my memberships (cancel,
resume), my points and rewards (redeem), my passes."""
from datetime import timedelta
from decimal import Decimal

import pytest
from django.test import Client
from django.utils import timezone
from django.utils.formats import date_format

from memberships import services
from memberships.models import LoyaltyAccount, Membership, Pass, RewardRedemption
from microstage.tests.factories import CreatorFactory, UserFactory

from .helpers_pages import give_points, make_member, make_pass_product, make_plan, make_reward

pytestmark = pytest.mark.django_db


def html(response) -> str:
    return response.content.decode()


def messages_of(response) -> str:
    return " ".join(str(m) for m in response.context["messages"]) if response.context else ""


@pytest.fixture(autouse=True)
def sandbox(settings):
    settings.PAYMENTS_PROVIDER = "sandbox"


@pytest.fixture
def creator():
    return CreatorFactory(name="Night Owls", slug="night-owls")


@pytest.fixture
def plan(creator):
    return make_plan(creator, name="Night Owls Club")


@pytest.fixture
def fan():
    return UserFactory(email="fan@example.com")


@pytest.fixture
def fan_client(client, fan):
    client.force_login(fan)
    return client


# --- the plans page ------------------------------------------------------------------------------

class TestPlansPage:
    def test_anyone_sees_the_benefits_plainly(self, client, creator, plan):
        make_plan(creator, name="Owls Yearly", price=Decimal("50.00"), interval="year", early_access_hours=0,
                  discount_percent=Decimal("0"), members_only_events=False, clip_access=False)
        make_plan(creator, name="Closed plan", is_active=False)
        make_pass_product(creator)
        r = client.get("/c/night-owls/membership/")
        assert r.status_code == 200
        page = html(r)
        assert "Night Owls Club" in page and "€5.00" in page and "/ month" in page
        assert "48 hours before everyone else" in page and "10% off" in page
        assert "Members-only shows" in page and "Members’ clips" in page
        assert "Owls Yearly" in page and "€50.00" in page and "/ year" in page and "€4.17 a month" in page
        assert "Closed plan" not in page
        assert "5-show pass" in page and "€75.00" in page and "€15.00 a show" in page
        assert page.count('name="plan"') == 2 and "Join for €5.00" in page

    def test_unknown_creator_is_404(self, client):
        assert client.get("/c/nobody-here/membership/").status_code == 404

    def test_creator_page_links_to_the_membership_page(self, client, creator):
        assert 'href="/c/night-owls/membership/"' in html(client.get("/c/night-owls/"))

    def test_header_links_to_my_memberships_when_logged_in(self, fan_client):
        assert 'href="/account/memberships/"' in html(fan_client.get("/account/points/"))

    def test_member_sees_their_plan_instead_of_a_join_button(self, fan_client, fan, plan):
        make_member(plan, user=fan)
        page = html(fan_client.get("/c/night-owls/membership/"))
        assert "You are a member" in page and "Your plan" in page and 'name="plan"' not in page


class TestJoin:
    def test_anonymous_is_sent_to_log_in_and_back(self, client, plan):
        r = client.post("/c/night-owls/membership/join/", {"plan": plan.pk})
        assert r.status_code == 302 and "/accounts/login/" in r.url and "membership" in r.url
        assert not Membership.objects.exists()

    def test_join_in_the_sandbox_is_active_at_once(self, fan_client, fan, plan):
        r = fan_client.post("/c/night-owls/membership/join/", {"plan": plan.pk}, follow=True)
        membership = Membership.objects.get(user=fan)
        assert membership.status == Membership.Status.ACTIVE and membership.plan == plan
        assert r.redirect_chain[-1][0] == "/account/memberships/"
        assert "Welcome to Night Owls Club" in messages_of(r)
        page = html(r)
        assert "Renews on" in page and "Cancel" in page

    def test_joining_twice_says_so_and_charges_once(self, fan_client, fan, plan):
        fan_client.post("/c/night-owls/membership/join/", {"plan": plan.pk})
        other = make_plan(plan.creator, name="Bigger", price=Decimal("9.00"))
        r = fan_client.post("/c/night-owls/membership/join/", {"plan": other.pk}, follow=True)
        assert "already a member of Night Owls" in messages_of(r)
        assert Membership.objects.filter(user=fan).count() == 1

    @pytest.mark.parametrize("which", ["other_creator", "inactive", "garbage", "missing"])
    def test_bad_plans_are_refused_with_a_message(self, fan_client, fan, plan, which):
        plan_id = {"other_creator": lambda: make_plan(CreatorFactory()).pk,
                   "inactive": lambda: make_plan(plan.creator, is_active=False).pk,
                   "garbage": lambda: "x" * 500 + "'; drop table",
                   "missing": lambda: ""}[which]()
        r = fan_client.post("/c/night-owls/membership/join/", {"plan": plan_id}, follow=True)
        assert r.status_code == 200 and "not open to new members" in messages_of(r)
        assert not Membership.objects.exists()

    def test_get_is_not_allowed(self, fan_client, plan):
        assert fan_client.get("/c/night-owls/membership/join/").status_code == 405

    def test_hosted_checkout_is_followed(self, fan_client, fan, plan, monkeypatch):
        def fake_subscribe(*, user, plan_id, success_url, cancel_url):
            membership = Membership.objects.create(plan=plan, creator=plan.creator, user=user)
            assert success_url.endswith("/account/memberships/") and cancel_url.endswith("/membership/")
            return services.Subscribed(membership, "awaiting_payment", "https://checkout.stripe.test/c/pay_1")

        monkeypatch.setattr(services, "subscribe", fake_subscribe)
        r = fan_client.post("/c/night-owls/membership/join/", {"plan": plan.pk})
        assert r.status_code == 302 and r.url == "https://checkout.stripe.test/c/pay_1"


# --- my memberships: cancel and resume -----------------------------------------------------------

class TestMyMemberships:
    def test_needs_login(self, client):
        r = client.get("/account/memberships/")
        assert r.status_code == 302 and "/accounts/login/" in r.url

    def test_empty_state(self, fan_client):
        r = fan_client.get("/account/memberships/")
        assert r.status_code == 200 and "No memberships yet" in html(r)

    def test_cancel_with_confirmation_then_resume(self, fan_client, fan, plan):
        fan_client.post("/c/night-owls/membership/join/", {"plan": plan.pk})
        membership = Membership.objects.get(user=fan)
        confirm = fan_client.get(f"/account/memberships/{membership.pk}/cancel/")
        assert confirm.status_code == 200
        assert "You will not be charged again" in html(confirm) and "Yes, cancel my membership" in html(confirm)
        membership.refresh_from_db()
        assert membership.status == Membership.Status.ACTIVE  # showing the question changes nothing

        r = fan_client.post(f"/account/memberships/{membership.pk}/cancel/", follow=True)
        membership.refresh_from_db()
        assert membership.status == Membership.Status.CANCELLED and membership.cancel_at_period_end
        assert "you will not be charged again" in messages_of(r)
        page = html(r)
        assert "Cancelled — ends on" in page and "Resume" in page

        r = fan_client.post(f"/account/memberships/{membership.pk}/resume/", follow=True)
        membership.refresh_from_db()
        assert membership.status == Membership.Status.ACTIVE and not membership.cancel_at_period_end
        assert "renews again" in messages_of(r) and "Renews on" in html(r)

    def test_cancel_page_of_a_cancelled_membership_goes_back(self, fan_client, fan, plan):
        membership = make_member(plan, user=fan, status="cancelled")
        r = fan_client.get(f"/account/memberships/{membership.pk}/cancel/", follow=True)
        assert "nothing to cancel" in messages_of(r)

    def test_resume_after_the_period_ended_is_refused(self, fan_client, fan, plan):
        membership = make_member(plan, user=fan, status="cancelled", period_end_days=-1)
        r = fan_client.post(f"/account/memberships/{membership.pk}/resume/", follow=True)
        assert "cannot be resumed" in messages_of(r) or "can be resumed" in messages_of(r)
        membership.refresh_from_db()
        assert membership.status == Membership.Status.CANCELLED

    def test_someone_elses_membership_is_404(self, fan_client, plan):
        theirs = make_member(plan)
        assert fan_client.get(f"/account/memberships/{theirs.pk}/cancel/").status_code == 404
        assert fan_client.post(f"/account/memberships/{theirs.pk}/cancel/").status_code == 404
        assert fan_client.post(f"/account/memberships/{theirs.pk}/resume/").status_code == 404
        theirs.refresh_from_db()
        assert theirs.status == Membership.Status.ACTIVE

    def test_ended_memberships_are_listed_apart(self, fan_client, fan, plan):
        make_member(plan, user=fan, status="ended", ended_days=3, started_days=40)
        page = html(fan_client.get("/account/memberships/"))
        assert "Ended" in page and "Join again" in page


# --- my points and rewards -----------------------------------------------------------------------

class TestPoints:
    def test_balance_referral_link_rewards_and_history(self, fan_client, fan, creator):
        give_points(fan, creator, 120)
        make_reward(creator, name="Cheap code", cost_points=100, stock=3)
        make_reward(creator, name="Backstage", kind="backstage_upgrade", cost_points=400, stock=0,
                    discount_percent=None)
        make_reward(creator, name="Hidden", is_active=False)
        r = fan_client.get("/account/points/")
        assert r.status_code == 200
        page = html(r)
        code = LoyaltyAccount.objects.get(user=fan, creator=creator).referral_code
        assert f"/r/{code}/" in page and "data-copy=" in page
        assert "<strong>120</strong>" in page
        assert "Cheap code" in page and "100 points" in page and "3 left" in page
        assert "Backstage" in page and "Gone" in page and "Hidden" not in page
        assert "+120" in page

    def test_member_without_points_gets_a_referral_link_too(self, fan_client, fan, plan):
        make_member(plan, user=fan)
        page = html(fan_client.get("/account/points/"))
        code = LoyaltyAccount.objects.get(user=fan, creator=plan.creator).referral_code
        assert f"/r/{code}/" in page and "Night Owls" in page

    def test_redeem_with_confirmation_spends_points_and_stock_once(self, fan_client, fan, creator):
        give_points(fan, creator, 250)
        reward = make_reward(creator, cost_points=100, stock=3)
        confirm = fan_client.get(f"/account/points/rewards/{reward.pk}/redeem/")
        assert confirm.status_code == 200
        assert "Redeem for 100 points" in html(confirm) and "150" in html(confirm)  # left after
        assert LoyaltyAccount.objects.get(user=fan).balance == 250

        r = fan_client.post(f"/account/points/rewards/{reward.pk}/redeem/", follow=True)
        redemption = RewardRedemption.objects.get()
        assert LoyaltyAccount.objects.get(user=fan).balance == 150
        reward.refresh_from_db()
        assert reward.stock == 2
        assert redemption.code in messages_of(r) and redemption.code in html(r)
        assert "Ready to use" in html(r)

    def test_not_enough_points_is_a_clear_message(self, fan_client, fan, creator):
        give_points(fan, creator, 50)
        reward = make_reward(creator, cost_points=100, stock=3)
        confirm = html(fan_client.get(f"/account/points/rewards/{reward.pk}/redeem/"))
        assert "Not enough points: you have 50, this needs 100." in confirm and "Redeem for" not in confirm
        r = fan_client.post(f"/account/points/rewards/{reward.pk}/redeem/", follow=True)
        assert "Not enough points" in messages_of(r) and "not spent" in messages_of(r)
        reward.refresh_from_db()
        assert reward.stock == 3 and LoyaltyAccount.objects.get(user=fan).balance == 50
        assert not RewardRedemption.objects.exists()

    def test_out_of_stock_is_a_clear_message(self, fan_client, fan, creator):
        give_points(fan, creator, 500)
        reward = make_reward(creator, cost_points=100, stock=0)
        assert "This reward is gone" in html(fan_client.get(f"/account/points/rewards/{reward.pk}/redeem/"))
        r = fan_client.post(f"/account/points/rewards/{reward.pk}/redeem/", follow=True)
        assert "is gone" in messages_of(r)
        assert LoyaltyAccount.objects.get(user=fan).balance == 500 and not RewardRedemption.objects.exists()

    def test_hidden_or_unknown_reward_is_404(self, fan_client, fan, creator):
        hidden = make_reward(creator, is_active=False)
        assert fan_client.get(f"/account/points/rewards/{hidden.pk}/redeem/").status_code == 404
        assert fan_client.post(f"/account/points/rewards/{hidden.pk}/redeem/").status_code == 404
        assert fan_client.get("/account/points/rewards/rwd_nope/redeem/").status_code == 404

    def test_needs_login(self, client, creator):
        reward = make_reward(creator)
        for url in ["/account/points/", f"/account/points/rewards/{reward.pk}/redeem/", "/account/passes/"]:
            r = client.get(url)
            assert r.status_code == 302 and "/accounts/login/" in r.url, url


# --- passes --------------------------------------------------------------------------------------

class TestPasses:
    def test_my_passes_shows_credits_and_expiry(self, fan_client, fan, creator):
        product = make_pass_product(creator)
        expires = timezone.now() + timedelta(days=100)
        Pass.objects.create(creator=creator, user=fan, product=product, credits_total=5, credits_left=3,
                            expires_at=expires, order_line_id="ln_1")
        Pass.objects.create(creator=creator, user=fan, product=product, credits_total=5, credits_left=2,
                            expires_at=timezone.now() - timedelta(days=1), order_line_id="ln_2")
        Pass.objects.create(creator=creator, user=UserFactory(), product=product, credits_total=5, credits_left=5,
                            expires_at=expires, order_line_id="ln_3")
        page = html(fan_client.get("/account/passes/"))
        assert "<strong>3</strong> of 5 shows left" in page
        assert f"Valid until <strong>{date_format(timezone.localtime(expires), 'DATE_FORMAT')}</strong>" in page
        assert "Used up or expired" in page and "2 of 5 left · expired" in page
        assert page.count("5-show pass") == 2  # not the other fan's
        plans_page = html(fan_client.get("/c/night-owls/membership/"))
        assert "3 of 5 shows left" in plans_page

    def test_buying_a_pass_reserves_an_order(self, fan_client, fan, creator):
        product = make_pass_product(creator)
        r = fan_client.post(f"/c/night-owls/membership/passes/{product.pk}/buy/")
        assert r.status_code == 302 and r.url.startswith("/orders/")
        from commerce.models import Order

        order = Order.objects.get(buyer=fan)
        assert order.total == Decimal("75.00") and order.lines.get().item_id == product.pk

    def test_buying_needs_login_and_an_active_pass_of_this_creator(self, fan_client, creator):
        product = make_pass_product(creator)
        r = Client().post(f"/c/night-owls/membership/passes/{product.pk}/buy/")
        assert r.status_code == 302 and "/accounts/login/" in r.url
        other = make_pass_product(CreatorFactory())
        closed = make_pass_product(creator, is_active=False)
        for pid in [other.pk, closed.pk, "pp_nope"]:
            r = fan_client.post(f"/c/night-owls/membership/passes/{pid}/buy/", follow=True)
            assert "not on sale" in messages_of(r)
        from commerce.models import Order

        assert not Order.objects.exists()
