"""Creator dashboard for memberships through the real pages: who may open them, plans, members, rewards,
pass products, bad input on every form, and MRR and churn exact on synthetic data."""
from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from memberships import selectors
from memberships.models import MembershipPlan, PassProduct, Reward, RewardRedemption
from memberships.services import redeem_reward
from microstage.models import Role
from microstage.tests.factories import CreatorFactory, UserFactory, team_member

from .helpers_pages import creator_with_team, give_points, make_member, make_pass_product, make_plan, make_reward

pytestmark = pytest.mark.django_db

PAGES = ["/dashboard/memberships/", "/dashboard/memberships/plans/new/", "/dashboard/memberships/members/",
         "/dashboard/memberships/rewards/", "/dashboard/memberships/rewards/new/", "/dashboard/memberships/passes/",
         "/dashboard/memberships/passes/new/"]


def html(response) -> str:
    return response.content.decode()


def messages_of(response) -> str:
    return " ".join(str(m) for m in response.context["messages"]) if response.context else ""


@pytest.fixture
def team():
    return creator_with_team()


@pytest.fixture
def creator(team):
    return team[0]


@pytest.fixture
def owner(client, team):
    client.force_login(team[1][Role.OWNER])
    return client


def plan_data(**overrides) -> dict:
    data = {"name": "Night Owls Club", "description": "Be part of the room.", "price": "5.00", "currency": "eur",
            "interval": "month", "early_access_hours": "48", "discount_percent": "10",
            "members_only_events": "on", "clip_access": "on"}
    data.update(overrides)
    return {k: v for k, v in data.items() if v is not None}


def reward_data(**overrides) -> dict:
    data = {"name": "10% code", "kind": "discount_code", "description": "", "cost_points": "100", "stock": "20",
            "discount_percent": "10", "is_active": "on"}
    data.update(overrides)
    return {k: v for k, v in data.items() if v is not None}


def pass_data(**overrides) -> dict:
    data = {"name": "5-show pass", "credits": "5", "price": "75.00", "currency": "EUR", "valid_days": "365",
            "is_active": "on"}
    data.update(overrides)
    return {k: v for k, v in data.items() if v is not None}


# --- who may open the pages ----------------------------------------------------------------------

class TestAccess:
    @pytest.mark.parametrize("role", [Role.OWNER, Role.MANAGER])
    def test_owner_and_manager_open_every_page(self, client, team, role):
        client.force_login(team[1][role])
        for url in PAGES:
            assert client.get(url).status_code == 200, url

    @pytest.mark.parametrize("role", [Role.DOOR, Role.MODERATOR])
    def test_door_and_moderator_get_the_usual_message(self, client, team, role):
        client.force_login(team[1][role])
        for url in PAGES:
            r = client.get(url)
            assert r.status_code == 302 and r.url == "/dashboard/", url
        r = client.get(PAGES[0], follow=True)
        assert "cannot open that page" in messages_of(r)

    def test_anonymous_logs_in_and_outsiders_go_to_the_dashboard(self, client):
        for url in PAGES:
            r = client.get(url)
            assert r.status_code == 302 and "/accounts/login/" in r.url, url
        client.force_login(UserFactory())
        assert client.get(PAGES[0]).url == "/dashboard/"

    def test_nav_shows_memberships_to_editors_only(self, client, team):
        client.force_login(team[1][Role.OWNER])
        assert 'href="/dashboard/memberships/" aria-current="page"' in html(client.get(PAGES[0]))
        client.force_login(team[1][Role.DOOR])
        assert 'href="/dashboard/memberships/"' not in html(client.get("/dashboard/"))

    def test_other_creators_objects_are_404(self, owner, creator):
        other = CreatorFactory()
        plan, reward, product = make_plan(other), make_reward(other), make_pass_product(other)
        give_points(UserFactory(), other, 500)
        fan = UserFactory()
        give_points(fan, other, 500)
        redemption = redeem_reward(user=fan, reward_id=reward.pk)
        for url in [f"/dashboard/memberships/plans/{plan.pk}/", f"/dashboard/memberships/rewards/{reward.pk}/",
                    f"/dashboard/memberships/passes/{product.pk}/"]:
            assert owner.get(url).status_code == 404, url
            assert owner.post(url, {}).status_code == 404, url
        assert owner.post(f"/dashboard/memberships/plans/{plan.pk}/active/", {"active": "0"}).status_code == 404
        assert owner.post(f"/dashboard/memberships/redemptions/{redemption.pk}/used/").status_code == 404
        plan.refresh_from_db()
        redemption.refresh_from_db()
        assert plan.is_active and redemption.status == RewardRedemption.Status.ISSUED


# --- plans ---------------------------------------------------------------------------------------

class TestPlans:
    def test_create_edit_deactivate_reopen(self, owner, creator):
        r = owner.post("/dashboard/memberships/plans/new/", plan_data())
        assert r.status_code == 302 and r.url == "/dashboard/memberships/"
        plan = MembershipPlan.objects.get(creator=creator)
        assert (plan.price, plan.currency, plan.interval, plan.early_access_hours, plan.discount_percent,
                plan.members_only_events, plan.clip_access) == (Decimal("5.00"), "EUR", "month", 48, Decimal("10"),
                                                                True, True)
        edit = owner.get(f"/dashboard/memberships/plans/{plan.pk}/")
        assert 'value="Night Owls Club"' in html(edit) and 'value="5.00"' in html(edit)
        owner.post(f"/dashboard/memberships/plans/{plan.pk}/", plan_data(price="50", interval="year",
                                                                         clip_access=None))
        plan.refresh_from_db()
        assert (plan.price, plan.interval, plan.clip_access) == (Decimal("50"), "year", False)

        r = owner.post(f"/dashboard/memberships/plans/{plan.pk}/active/", {"active": "0"}, follow=True)
        plan.refresh_from_db()
        assert not plan.is_active and "takes no new members" in messages_of(r) and "Reopen" in html(r)
        owner.post(f"/dashboard/memberships/plans/{plan.pk}/active/", {"active": "1"})
        plan.refresh_from_db()
        assert plan.is_active

    @pytest.mark.parametrize("field,value", [
        ("price", "0"), ("price", "-5"), ("price", "abc"), ("price", "0.10"), ("price", ""), ("price", "1e400"),
        ("interval", "week"), ("interval", ""),
        ("discount_percent", "150"), ("discount_percent", "-1"), ("discount_percent", "abc"),
        ("early_access_hours", "-1"), ("early_access_hours", "99999"), ("early_access_hours", "1.5"),
        ("currency", "EURO"), ("currency", "12"), ("name", ""), ("name", "x" * 81),
    ])
    def test_bad_input_is_shown_next_to_the_field(self, owner, creator, field, value):
        r = owner.post("/dashboard/memberships/plans/new/", plan_data(**{field: value}))
        assert r.status_code == 400
        assert f'id="id_{field}_error"' in html(r) or (field == "interval" and 'id="id_interval_error"' in html(r))
        assert "nothing was saved" in html(r)
        assert not MembershipPlan.objects.exists()

    def test_bad_edit_changes_nothing(self, owner, creator):
        plan = make_plan(creator)
        r = owner.post(f"/dashboard/memberships/plans/{plan.pk}/", plan_data(discount_percent="101"))
        assert r.status_code == 400 and 'id="id_discount_percent_error"' in html(r)
        plan.refresh_from_db()
        assert plan.discount_percent == Decimal("10")

    def test_yen_cents_are_refused_by_the_service(self, owner, creator):
        r = owner.post("/dashboard/memberships/plans/new/", plan_data(currency="JPY", price="500.50"))
        assert r.status_code == 400 and not MembershipPlan.objects.exists()


# --- members, MRR and churn ----------------------------------------------------------------------

@pytest.fixture
def synthetic(creator):
    """Monthly + yearly + past due + cancelled (running and lapsed) + ended + pending, fixed at `now`."""
    now = timezone.now()
    monthly = make_plan(creator, name="Monthly", price=Decimal("5.00"))
    big = make_plan(creator, name="Big monthly", price=Decimal("9.00"))
    yearly = make_plan(creator, name="Yearly", price=Decimal("50.00"), interval="year")
    m = {
        "active": make_member(monthly, started_days=60, now=now),
        "yearly": make_member(yearly, started_days=90, period_end_days=275, now=now),
        "past_due": make_member(big, status="past_due", started_days=45, period_end_days=-2, now=now),
        "cancelled": make_member(monthly, status="cancelled", started_days=50, period_end_days=10, now=now),
        "lapsed": make_member(monthly, status="cancelled", started_days=40, period_end_days=-1, now=now),
        "ended": make_member(big, status="ended", started_days=100, ended_days=10, now=now),
        "short": make_member(monthly, status="ended", started_days=20, ended_days=3, now=now),
        "old": make_member(monthly, status="ended", started_days=200, ended_days=40, now=now),
        "pending": make_member(monthly, status="pending", started_days=None, period_end_days=None, now=now),
        "new": make_member(monthly, started_days=5, now=now),
    }
    make_member(make_plan(CreatorFactory(), price=Decimal("99.00")), started_days=60, now=now)  # someone else's
    return now, m


class TestFigures:
    def test_mrr_and_churn_are_exact(self, creator, synthetic):
        now, _ = synthetic
        # Now: active 5 + yearly 50/12 + past due 9 + cancelled-running 5 + new 5 = 24 + 4.1666… = 28.17.
        assert selectors.mrr_at(creator.pk, now) == {"EUR": Decimal("28.17")}
        # 30 days ago: active, yearly, past due, cancelled, lapsed (paid until yesterday), ended (10 days ago).
        assert selectors.live_members_at(creator.pk, now - timedelta(days=30)).count() == 6
        churn = selectors.churn(creator.pk, now)
        # Ended in the window: "ended" and "short" (joined and left inside it) — 2 / 6.
        assert churn == {"ended": 2, "at_start": 6, "rate": Decimal("0.3333"), "percent": Decimal("33.3")}
        stats = selectors.membership_dashboard(creator.pk, now)
        assert (stats["active"], stats["past_due"], stats["cancelled"], stats["ended"], stats["pending"],
                stats["live"]) == (3, 1, 2, 3, 1, 5)
        assert len(stats["history"]) == 6 and stats["history"][-1]["members"] == 5
        assert stats["history"][-1]["mrr"] == {"EUR": Decimal("28.17")}
        assert stats["history"][-1]["at"] == now and stats["history"][0]["at"] < now - timedelta(days=120)

    def test_history_follows_starts_and_ends(self, creator):
        now = timezone.now()
        plan = make_plan(creator, price=Decimal("6.00"))
        make_member(plan, started_days=400, now=now)                  # every month
        make_member(plan, status="ended", started_days=400, ended_days=1, now=now)  # every month but now
        history = selectors.membership_dashboard(creator.pk, now)["history"]
        assert [p["members"] for p in history] == [2, 2, 2, 2, 2, 1]
        assert history[0]["mrr"] == {"EUR": Decimal("12.00")} and history[-1]["mrr"] == {"EUR": Decimal("6.00")}

    def test_no_members_means_no_churn_rate(self, creator):
        churn = selectors.churn(creator.pk)
        assert churn["rate"] is None and churn["percent"] is None
        assert selectors.mrr_at(creator.pk, timezone.now()) == {}

    def test_overview_shows_figures_chart_and_table(self, owner, creator, synthetic):
        r = owner.get("/dashboard/memberships/")
        page = html(r)
        assert "€28.17" in page and "33.3%" in page
        assert '<canvas id="mem-chart"' in page and "vendor/chart/chart.umd.min.js" in page
        assert 'id="mem-chart-data"' in page and "<table" in page and "(today)" in page
        assert "Monthly" in page and "Yearly" in page and "Big monthly" in page

    def test_members_list_counts_search_and_filter(self, owner, creator, synthetic):
        _, m = synthetic
        page = html(owner.get("/dashboard/memberships/members/"))
        assert "10 memberships" in page
        assert m["active"].user.email in page and "Past due" in page and "Ended" in page and "since" in page
        one = owner.get("/dashboard/memberships/members/", {"q": m["yearly"].user.email})
        assert "1 membership found" in html(one) and m["yearly"].user.email in html(one)
        past = html(owner.get("/dashboard/memberships/members/", {"status": "past_due"}))
        assert "1 membership found" in past and m["past_due"].user.email in past
        assert "@example.com" in html(owner.get("/dashboard/memberships/members/", {"status": "bogus"}))
        assert owner.get("/dashboard/memberships/members/", {"page": "999"}).status_code == 200
        assert owner.get("/dashboard/memberships/members/", {"page": "abc"}).status_code == 200


# --- rewards -------------------------------------------------------------------------------------

class TestRewards:
    def test_create_edit_and_mark_used(self, owner, creator):
        r = owner.post("/dashboard/memberships/rewards/new/", reward_data())
        assert r.status_code == 302 and r.url == "/dashboard/memberships/rewards/"
        reward = Reward.objects.get(creator=creator)
        assert (reward.kind, reward.cost_points, reward.stock, reward.discount_percent) == (
            "discount_code", 100, 20, Decimal("10"))
        owner.post(f"/dashboard/memberships/rewards/{reward.pk}/",
                   reward_data(kind="backstage_upgrade", cost_points="400", stock="5", name="Backstage"))
        reward.refresh_from_db()
        # only discount codes keep a percent
        assert (reward.kind, reward.cost_points, reward.stock, reward.discount_percent) == (
            "backstage_upgrade", 400, 5, None)

        fan = UserFactory(email="owl@example.com")
        give_points(fan, creator, 400)
        redemption = redeem_reward(user=fan, reward_id=reward.pk)
        page = html(owner.get("/dashboard/memberships/rewards/"))
        assert redemption.code in page and "owl@example.com" in page and "Mark used" in page
        r = owner.post(f"/dashboard/memberships/redemptions/{redemption.pk}/used/", follow=True)
        redemption.refresh_from_db()
        assert redemption.status == RewardRedemption.Status.USED and redemption.used_at is not None
        assert "marked as used" in messages_of(r)
        again = owner.post(f"/dashboard/memberships/redemptions/{redemption.pk}/used/", follow=True)
        assert "already used" in messages_of(again)
        assert owner.get(f"/dashboard/memberships/redemptions/{redemption.pk}/used/").status_code == 405

    @pytest.mark.parametrize("overrides,field", [
        ({"discount_percent": ""}, "discount_percent"), ({"discount_percent": "0"}, "discount_percent"),
        ({"discount_percent": "101"}, "discount_percent"), ({"cost_points": "0"}, "cost_points"),
        ({"cost_points": "-3"}, "cost_points"), ({"cost_points": "x"}, "cost_points"), ({"stock": "-1"}, "stock"),
        ({"stock": ""}, "stock"), ({"kind": "car"}, "kind"), ({"name": ""}, "name"),
    ])
    def test_bad_input_is_shown_next_to_the_field(self, owner, creator, overrides, field):
        r = owner.post("/dashboard/memberships/rewards/new/", reward_data(**overrides))
        assert r.status_code == 400 and f'id="id_{field}_error"' in html(r)
        assert not Reward.objects.exists()

    def test_percent_is_not_needed_for_other_kinds(self, owner, creator):
        r = owner.post("/dashboard/memberships/rewards/new/", reward_data(kind="free_item", discount_percent=""))
        assert r.status_code == 302 and Reward.objects.get().discount_percent is None


# --- pass products -------------------------------------------------------------------------------

class TestPassProducts:
    def test_create_and_edit(self, owner, creator):
        r = owner.post("/dashboard/memberships/passes/new/", pass_data(currency="eur"))
        assert r.status_code == 302 and r.url == "/dashboard/memberships/passes/"
        product = PassProduct.objects.get(creator=creator)
        assert (product.credits, product.price, product.currency, product.valid_days, product.is_active) == (
            5, Decimal("75.00"), "EUR", 365, True)
        assert "5-show pass" in html(owner.get("/dashboard/memberships/passes/"))
        owner.post(f"/dashboard/memberships/passes/{product.pk}/", pass_data(credits="10", is_active=None))
        product.refresh_from_db()
        assert product.credits == 10 and not product.is_active

    @pytest.mark.parametrize("field,value", [
        ("credits", "0"), ("credits", "101"), ("credits", "two"), ("price", "0"), ("price", "-1"),
        ("price", "abc"), ("currency", "EURO"), ("currency", "€"), ("valid_days", "0"), ("valid_days", "99999"),
        ("name", ""),
    ])
    def test_bad_input_is_shown_next_to_the_field(self, owner, creator, field, value):
        r = owner.post("/dashboard/memberships/passes/new/", pass_data(**{field: value}))
        assert r.status_code == 400 and f'id="id_{field}_error"' in html(r)
        assert not PassProduct.objects.exists()

    def test_yen_cents_are_refused_by_the_service(self, owner, creator):
        r = owner.post("/dashboard/memberships/passes/new/", pass_data(currency="JPY", price="500.50"))
        assert r.status_code == 400 and 'id="id_price_error"' in html(r) and not PassProduct.objects.exists()


def test_manager_of_two_creators_manages_the_current_one(client, creator):
    other = CreatorFactory()
    user = team_member(other, Role.MANAGER)
    plan = make_plan(creator)
    client.force_login(user)
    assert client.get(f"/dashboard/memberships/plans/{plan.pk}/").status_code == 404
