"""The memberships API as API.md fixes it: plans, subscribe, my memberships, my loyalty — and bad input."""
from decimal import Decimal
from unittest import mock

import pytest

from memberships import services
from memberships.models import LoyaltyEntry, Membership, MembershipPlan
from microstage.models import Role
from microstage.tests.factories import CreatorFactory, UserFactory, team_member

from .test_subscriptions import lapse, make_plan

pytestmark = pytest.mark.django_db
PLANS = "/api/v1/membership-plans"


def plan_body(owner_of, /, **overrides) -> dict:
    body = {"creator": owner_of.pk, "name": "Gold", "price": "4.99", "currency": "EUR", "interval": "month",
            "perks": {"early_access_hours": 48, "discount_percent": "10", "members_only_events": True,
                      "clip_access": True}}
    body.update(overrides)
    return body


@pytest.fixture
def creator():
    return CreatorFactory()


@pytest.fixture
def owner_api(creator, make_api):
    return make_api(team_member(creator))


# --- creating plans --------------------------------------------------------------------------

class TestCreatePlan:
    def test_a_plan_can_include_replays(self, owner_api, creator):
        body = plan_body(creator)
        body["perks"] = {**body["perks"], "replays": True}
        r = owner_api.post(PLANS, body, format="json")
        assert r.status_code == 201 and r.json()["perks"]["replays"] is True
        assert MembershipPlan.objects.get(pk=r.json()["id"]).replay_access

    def test_owner_creates_a_plan(self, owner_api, creator):
        r = owner_api.post(PLANS, plan_body(creator), format="json")
        assert r.status_code == 201, r.json()
        data = r.json()
        assert data["id"].startswith("plan_") and data["creator"] == creator.pk
        assert data["price"] == "4.99" and data["currency"] == "EUR" and data["interval"] == "month"
        assert data["perks"] == {"early_access_hours": 48, "discount_percent": "10.00", "members_only_events": True,
                                 "clip_access": True, "replays": False}
        plan = MembershipPlan.objects.get(pk=data["id"])
        assert plan.price == Decimal("4.99") and plan.discount_percent == Decimal("10")

    def test_defaults_and_manager(self, creator, make_api, settings):
        api = make_api(team_member(creator, Role.MANAGER))
        r = api.post(PLANS, {"creator": creator.pk, "name": "Basic", "price": "12", "interval": "year"}, format="json")
        assert r.status_code == 201, r.json()
        data = r.json()
        assert data["currency"] == settings.DEFAULT_CURRENCY and data["interval"] == "year"
        assert data["perks"]["early_access_hours"] == 0 and data["perks"]["members_only_events"] is False

    @pytest.mark.parametrize("role", [Role.DOOR, Role.MODERATOR])
    def test_other_roles_get_403(self, creator, make_api, role):
        r = make_api(team_member(creator, role)).post(PLANS, plan_body(creator), format="json")
        assert r.status_code == 403 and r.json()["code"] == "forbidden"
        assert not MembershipPlan.objects.exists()

    def test_someone_elses_creator_is_404(self, creator, make_api):
        mine = CreatorFactory()
        api = make_api(team_member(mine))
        r = api.post(PLANS, plan_body(creator), format="json")
        assert r.status_code == 404 and r.json()["code"] == "not_found"
        r = api.post(PLANS, plan_body(creator, creator="crt_doesnotexist"), format="json")
        assert r.status_code == 404
        assert not MembershipPlan.objects.exists()

    def test_anonymous_is_401(self, api, creator):
        r = api.post(PLANS, plan_body(creator), format="json")
        assert r.status_code == 401 and r.json()["code"] == "not_authenticated"

    @pytest.mark.parametrize("overrides, field", [
        ({"price": "-5.00"}, "price"),
        ({"price": "-0.01"}, "price"),
        ({"price": "0"}, "price"),
        ({"price": "0.10"}, "price"),
        ({"price": "10000.01"}, "price"),
        ({"price": "1e9"}, "price"),
        ({"price": "4.999"}, "price"),
        ({"price": "NaN"}, "price"),
        ({"price": "lots"}, "price"),
        ({"price": None}, "price"),
        ({"price": [1]}, "price"),
        ({"price": "450.50", "currency": "JPY"}, "price"),
        ({"interval": "week"}, "interval"),
        ({"interval": "daily"}, "interval"),
        ({"interval": 30}, "interval"),
        ({"interval": None}, "interval"),
        ({"currency": "EURO"}, "currency"),
        ({"currency": "€"}, "currency"),
        ({"currency": 978}, "currency"),
        ({"name": ""}, "name"),
        ({"name": "x" * 81}, "name"),
        ({"name": {"a": 1}}, "name"),
        ({"creator": ""}, "creator"),
        ({"creator": ["crt_1"]}, "creator"),
        ({"perks": "gold"}, "perks"),
        ({"perks": ["early"]}, "perks"),
        ({"perks": {"discount_percent": "-1"}}, "perks.discount_percent"),
        ({"perks": {"discount_percent": "100.01"}}, "perks.discount_percent"),
        ({"perks": {"discount_percent": "150"}}, "perks.discount_percent"),
        ({"perks": {"discount_percent": "half"}}, "perks.discount_percent"),
        ({"perks": {"early_access_hours": -1}}, "perks.early_access_hours"),
        ({"perks": {"early_access_hours": 2161}}, "perks.early_access_hours"),
        ({"perks": {"early_access_hours": "soon"}}, "perks.early_access_hours"),
        ({"perks": {"early_access_hours": 1.5}}, "perks.early_access_hours"),
        ({"perks": {"members_only_events": "perhaps"}}, "perks.members_only_events"),
        ({"perks": {"clip_access": [True]}}, "perks.clip_access"),
    ])
    def test_bad_input_is_400_and_creates_nothing(self, owner_api, creator, overrides, field):
        r = owner_api.post(PLANS, plan_body(creator, **overrides), format="json")
        assert r.status_code == 400, r.json()
        data = r.json()
        assert data["code"] == "invalid" and data["detail"], data
        assert any(name == field or name.startswith(f"{field}.") for name in data["fields"]), data
        assert not MembershipPlan.objects.exists()

    @pytest.mark.parametrize("missing", ["creator", "name", "price"])
    def test_required_fields(self, owner_api, creator, missing):
        body = plan_body(creator)
        del body[missing]
        r = owner_api.post(PLANS, body, format="json")
        assert r.status_code == 400 and missing in r.json()["fields"]

    def test_malformed_json_and_non_object(self, owner_api):
        r = owner_api.post(PLANS, data="{nope", content_type="application/json")
        assert r.status_code == 400 and r.json()["code"] == "malformed_request"
        r = owner_api.post(PLANS, [1, 2], format="json")
        assert r.status_code == 400 and r.json()["code"] == "invalid"
        assert not MembershipPlan.objects.exists()

    def test_boundaries_are_accepted(self, owner_api, creator):
        r = owner_api.post(PLANS, plan_body(creator, price="10000.00", perks={
            "discount_percent": "100", "early_access_hours": 2160}), format="json")
        assert r.status_code == 201, r.json()
        r = owner_api.post(PLANS, plan_body(creator, price="0.50", perks={"discount_percent": "0"}), format="json")
        assert r.status_code == 201, r.json()


class TestReadAndChangePlans:
    def test_public_plan_and_creator_list(self, api, creator):
        plan = make_plan(creator)
        hidden = make_plan(creator, name="Old", is_active=False)
        r = api.get(f"{PLANS}/{plan.pk}")
        assert r.status_code == 200 and r.json()["name"] == "Gold" and r.json()["price"] == "4.99"
        assert api.get(f"{PLANS}/{hidden.pk}").status_code == 404
        assert api.get(f"{PLANS}/plan_nope").status_code == 404
        r = api.get(f"/api/v1/creators/{creator.pk}/membership-plans")
        assert r.status_code == 200 and [p["id"] for p in r.json()["results"]] == [plan.pk]
        assert r.json()["next"] is None

    def test_team_sees_inactive_plans(self, owner_api, creator):
        hidden = make_plan(creator, is_active=False)
        assert owner_api.get(f"{PLANS}/{hidden.pk}").status_code == 200

    def test_patch_plan(self, owner_api, creator, make_api):
        plan = make_plan(creator)
        r = owner_api.patch(f"{PLANS}/{plan.pk}", {"price": "6.00", "perks": {"discount_percent": "20"}}, format="json")
        assert r.status_code == 200, r.json()
        assert r.json()["price"] == "6.00" and r.json()["perks"]["discount_percent"] == "20.00"
        assert r.json()["perks"]["early_access_hours"] == 48  # untouched perks stay
        r = owner_api.patch(f"{PLANS}/{plan.pk}", {"perks": {"discount_percent": "101"}}, format="json")
        assert r.status_code == 400
        r = owner_api.patch(f"{PLANS}/{plan.pk}", {"interval": "fortnight"}, format="json")
        assert r.status_code == 400
        assert make_api(team_member(creator, Role.DOOR)).patch(
            f"{PLANS}/{plan.pk}", {"price": "1.00"}, format="json").status_code == 403
        assert make_api(UserFactory()).patch(f"{PLANS}/{plan.pk}", {"price": "1.00"}, format="json").status_code == 404
        assert MembershipPlan.objects.get(pk=plan.pk).price == Decimal("6.00")


# --- subscribing and my memberships ----------------------------------------------------------

class TestSubscribe:
    def test_sandbox_subscribe_is_active(self, auth_api, sandbox):
        plan = make_plan()
        r = auth_api.post(f"{PLANS}/{plan.pk}/subscribe")
        assert r.status_code == 200, r.json()
        data = r.json()
        assert data["status"] == "active" and "checkout_url" not in data
        m = data["membership"]
        assert m["status"] == "active" and m["plan"]["id"] == plan.pk and m["creator"]["id"] == plan.creator_id
        assert m["current_period_end"] and m["cancel_at_period_end"] is False
        r = auth_api.post(f"{PLANS}/{plan.pk}/subscribe")
        assert r.status_code == 409 and r.json()["code"] == "already_member" and r.json()["detail"]
        assert Membership.objects.filter(user=auth_api.user).count() == 1

    def test_stripe_subscribe_answers_with_a_checkout_url(self, auth_api, stripe_settings):
        plan = make_plan()
        session = {"id": "cs_test_api", "url": "https://checkout.stripe.com/c/pay/cs_test_api"}
        with mock.patch("stripe.checkout.Session.create", return_value=session) as create:
            r = auth_api.post(f"{PLANS}/{plan.pk}/subscribe")
        assert r.status_code == 200, r.json()
        assert r.json()["status"] == "awaiting_payment" and r.json()["checkout_url"] == session["url"]
        assert r.json()["membership"]["status"] == "pending"
        assert create.call_args.kwargs["mode"] == "subscription"

    def test_unknown_inactive_and_anonymous(self, api, auth_api, sandbox):
        assert auth_api.post(f"{PLANS}/plan_nope/subscribe").status_code == 404
        assert auth_api.post(f"{PLANS}/{make_plan(is_active=False).pk}/subscribe").status_code == 404
        assert auth_api.post(f"{PLANS}/bad%00id/subscribe").status_code == 404
        r = api.post(f"{PLANS}/{make_plan().pk}/subscribe")
        assert r.status_code == 401
        assert not Membership.objects.exists()


class TestMyMemberships:
    def test_list_is_mine_and_paginated(self, auth_api, make_api, sandbox):
        for _ in range(3):
            auth_api.post(f"{PLANS}/{make_plan().pk}/subscribe")
        make_api(UserFactory()).post(f"{PLANS}/{make_plan().pk}/subscribe")
        r = auth_api.get("/api/v1/me/memberships")
        assert r.status_code == 200
        data = r.json()
        assert len(data["results"]) == 3 and data["next"] is None
        first = data["results"][0]
        assert set(first) >= {"id", "plan", "creator", "status", "current_period_end", "cancel_at_period_end"}
        assert first["plan"]["price"] == "4.99" and first["plan"]["currency"] == "EUR"
        r = auth_api.get("/api/v1/me/memberships?page_size=2")
        assert len(r.json()["results"]) == 2 and r.json()["next"]

    def test_cancel_and_resume(self, auth_api, make_api, sandbox):
        plan = make_plan()
        m = auth_api.post(f"{PLANS}/{plan.pk}/subscribe").json()["membership"]
        assert make_api(UserFactory()).post(f"/api/v1/me/memberships/{m['id']}/cancel").status_code == 404
        r = auth_api.post(f"/api/v1/me/memberships/{m['id']}/cancel")
        assert r.status_code == 200 and r.json()["status"] == "cancelled" and r.json()["cancel_at_period_end"] is True
        assert r.json()["current_period_end"] == m["current_period_end"]
        r = auth_api.post(f"/api/v1/me/memberships/{m['id']}/resume")
        assert r.status_code == 200 and r.json()["status"] == "active" and r.json()["cancel_at_period_end"] is False
        auth_api.post(f"/api/v1/me/memberships/{m['id']}/cancel")
        lapse(Membership.objects.get(pk=m["id"]))
        r = auth_api.post(f"/api/v1/me/memberships/{m['id']}/resume")
        assert r.status_code == 409 and r.json()["code"] == "not_resumable"
        assert auth_api.get(f"/api/v1/me/memberships/{m['id']}").json()["status"] == "cancelled"
        assert auth_api.post("/api/v1/me/memberships/mem_nope/cancel").status_code == 404

    def test_anonymous_is_401(self, api):
        assert api.get("/api/v1/me/memberships").status_code == 401
        assert api.get("/api/v1/me/loyalty").status_code == 401


class TestMyLoyalty:
    def test_balance_and_entries(self, auth_api):
        a, b = CreatorFactory(), CreatorFactory()
        services.award(user=auth_api.user, creator_id=a.pk, points=50, reason=LoyaltyEntry.Reason.ATTENDANCE,
                       key="checkin:t1", note="Night Show")
        services.award(user=auth_api.user, creator_id=b.pk, points=12, reason=LoyaltyEntry.Reason.PURCHASE,
                       key="order:o1")
        services.award(user=UserFactory(), creator_id=a.pk, points=99, reason=LoyaltyEntry.Reason.PURCHASE,
                       key="order:o2")
        r = auth_api.get("/api/v1/me/loyalty")
        assert r.status_code == 200
        data = r.json()
        assert data["balance"] == 62
        assert sorted(e["points"] for e in data["entries"]) == [12, 50]
        assert {e["reason"] for e in data["entries"]} == {"attendance", "purchase"}
        assert {c["creator"]["id"]: c["balance"] for c in data["creators"]} == {a.pk: 50, b.pk: 12}

    def test_empty(self, auth_api):
        r = auth_api.get("/api/v1/me/loyalty")
        assert r.status_code == 200 and r.json() == {"balance": 0, "creators": [], "entries": []}
