"""Memberships speak German to German readers: API error details, service errors with counts and names,
form labels and errors, and status labels come from the catalogue; the machine-readable codes stay English."""
import time

import pytest
from django.utils import translation

from memberships import services
from memberships.forms import PlanForm, RewardForm
from memberships.models import LoyaltyEntry, Membership, Reward
from microstage.errors import Conflict
from microstage.tests.factories import CreatorFactory, UserFactory, team_member

from .test_subscriptions import make_plan

pytestmark = pytest.mark.django_db
PLANS = "/api/v1/membership-plans"


@pytest.fixture(autouse=True)
def _english_after(settings):
    """A request with Accept-Language activates its language for the thread; later tests expect English."""
    yield
    translation.activate(settings.LANGUAGE_CODE)


def test_api_already_member_is_german_with_the_english_code(make_api, sandbox):
    plan = make_plan()
    api = make_api(UserFactory())
    assert api.post(f"{PLANS}/{plan.pk}/subscribe").status_code == 200
    r = api.post(f"{PLANS}/{plan.pk}/subscribe", HTTP_ACCEPT_LANGUAGE="de")
    assert r.status_code == 409
    assert r.json()["code"] == "already_member"
    assert r.json()["detail"] == (f"Sie sind bereits Mitglied bei {plan.creator.name}. "
                                  "Um den Plan zu wechseln, kündigen Sie zuerst.")
    r = api.post(f"{PLANS}/{plan.pk}/subscribe")
    assert r.json()["detail"] == (f"You are already a member of {plan.creator.name}. "
                                  "To switch plans, cancel first.")


def test_api_field_errors_are_german_and_field_names_stay(make_api):
    creator = CreatorFactory()
    api = make_api(team_member(creator))
    body = {"creator": creator.pk, "name": "Gold", "price": "4.99", "currency": "EUR", "interval": "month",
            "perks": {"early_access_hours": 48, "discount_percent": "10"}}
    r = api.post(PLANS, {**body, "currency": "E1"}, format="json", HTTP_ACCEPT_LANGUAGE="de")
    assert r.status_code == 400
    assert r.json()["code"] == "invalid"
    assert r.json()["fields"]["currency"] == ["Verwenden Sie einen dreibuchstabigen ISO-4217-Code wie EUR."]


def test_api_not_found_is_german(make_api):
    r = make_api(UserFactory()).post(f"{PLANS}/plan_nope/subscribe", HTTP_ACCEPT_LANGUAGE="de")
    assert r.status_code == 404
    assert r.json() == {**r.json(), "code": "not_found", "detail": "Diesen Plan gibt es nicht."}


def test_points_shortfall_names_both_numbers_in_german():
    fan, creator = UserFactory(), CreatorFactory()
    reward = Reward.objects.create(creator=creator, name="Poster", kind=Reward.Kind.FREE_ITEM, cost_points=50,
                                   stock=1)
    services.award(user=fan, creator_id=creator.pk, points=20, reason=LoyaltyEntry.Reason.ADJUSTMENT,
                   key=f"test:{time.monotonic_ns()}")
    with translation.override("de"), pytest.raises(Conflict) as exc:
        services.redeem_reward(user=fan, reward_id=reward.pk)
    assert exc.value.code == "not_enough_points"
    assert exc.value.detail == "Nicht genug Punkte: Sie haben 20, benötigt werden 50."


def test_forms_are_german():
    with translation.override("de"):
        form = PlanForm(data={"name": "Gold", "price": "0.10", "currency": "EUR", "interval": "month",
                              "early_access_hours": "-1", "discount_percent": "0"})
        assert not form.is_valid()
        assert form.errors["price"] == ["Der Preis muss mindestens 0.50 betragen."]
        assert form.errors["early_access_hours"] == ["0 oder mehr Stunden."]
        assert str(form.fields["interval"].label) == "Abrechnung"
        assert [str(label) for _, label in form.fields["interval"].choices] == ["Monatlich", "Jährlich"]
        reward = RewardForm(data={"name": "Code", "kind": "discount_code", "cost_points": "10", "stock": "5"})
        assert not reward.is_valid()
        assert reward.errors["discount_percent"] == ["Ein Rabattcode braucht seinen Rabatt in Prozent (1–100)."]
    form = PlanForm(data={"name": "Gold", "price": "0.10", "currency": "EUR", "interval": "month"})
    assert not form.is_valid()
    assert form.errors["price"] == ["The price must be at least 0.50."]


def test_status_labels_are_german():
    with translation.override("de"):
        assert str(Membership.Status.PAST_DUE.label) == "Überfällig"
        assert str(Membership.Status.CANCELLED.label) == "Gekündigt (läuft bis zum Ende des Zeitraums)"
    assert str(Membership.Status.PAST_DUE.label) == "Past due"
