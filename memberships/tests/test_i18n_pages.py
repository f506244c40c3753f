"""Membership pages in German: with Accept-Language "de" the plans page, the fan's own pages and the
creator's membership dashboard speak German (counts as real plurals, dates in the German format);
without it they stay English."""
from datetime import timedelta
from decimal import Decimal

import pytest
from django.test import Client
from django.utils import formats, timezone, translation

from memberships.models import Pass
from microstage.models import Role
from microstage.money import format_money
from microstage.tests.factories import CreatorFactory, UserFactory, team_member

from .helpers_pages import give_points, make_member, make_pass_product, make_plan, make_reward

pytestmark = pytest.mark.django_db

DE = {"HTTP_ACCEPT_LANGUAGE": "de"}


def eur(value) -> str:
    """An amount as the German pages write it (5,00 €)."""
    return format_money(value, "EUR", locale="de")


@pytest.fixture(autouse=True)
def sandbox(settings):
    settings.PAYMENTS_PROVIDER = "sandbox"


@pytest.fixture
def creator():
    return CreatorFactory(name="Night Owls", slug="night-owls")


@pytest.fixture
def fan():
    return UserFactory(email="fan@example.com")


def page(client, url, **headers) -> str:
    response = client.get(url, **headers)
    assert response.status_code == 200, url
    return response.content.decode()


def logged_in(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def test_plans_page_in_german_and_in_english(creator):
    make_plan(creator, name="Night Owls Club")
    make_plan(creator, name="Owls Yearly", price=Decimal("50.00"), interval="year", early_access_hours=1)
    make_pass_product(creator)
    german = page(Client(), "/c/night-owls/membership/", **DE)
    for words in ("Mitglied werden bei Night Owls", "/ Monat", "/ Jahr",
                  f"Das sind {eur('4.17')} im Monat, jährlich abgerechnet.",
                  "Tickets und Drops 48 Stunden vor allen anderen kaufen",
                  "Tickets und Drops 1 Stunde vor allen anderen kaufen",
                  f"Für {eur('5.00')} / Monat beitreten", "Show-Pässe", "5 Shows", f"{eur('15.00')} pro Show",
                  "365 Tage gültig"):
        assert words in german, words
    assert "before everyone else" not in german and "/ month" not in german
    english = page(Client(), "/c/night-owls/membership/")
    assert "48 hours before everyone else" in english and "1 hour before everyone else" in english
    assert "Join for €5.00" in english and "/ month" in english


def test_fans_own_pages_in_german(creator, fan):
    plan = make_plan(creator, name="Night Owls Club")
    membership = make_member(plan, user=fan)
    give_points(fan, creator, 1)
    make_reward(creator, cost_points=100)
    expires = timezone.now() + timedelta(days=100)
    Pass.objects.create(creator=creator, user=fan, product=make_pass_product(creator), credits_total=5,
                        credits_left=1, expires_at=expires, order_line_id="ln_1")
    client = logged_in(fan)
    mine = page(client, "/account/memberships/", **DE)
    with translation.override("de"):
        renews = formats.date_format(timezone.localtime(membership.current_period_end), "DATE_FORMAT")
        valid = formats.date_format(timezone.localtime(expires), "DATE_FORMAT")
    assert "Meine Mitgliedschaften" in mine and f"Verlängert sich am <strong>{renews}</strong>." in mine
    assert "Kündigen" in mine and "Treuepunkte" in mine
    points = page(client, "/account/points/", **DE)
    assert "<strong>1</strong> <span>Punkt</span>" in points and "99 Punkte fehlen noch" in points
    assert "Ihr Einladungslink" in points
    passes = page(client, "/account/passes/", **DE)
    assert "Noch <strong>1</strong> von 5 Shows" in passes and f"Gültig bis <strong>{valid}</strong>" in passes
    cancel = page(client, f"/account/memberships/{membership.pk}/cancel/", **DE)
    assert "Night Owls Club kündigen?" in cancel and "Ja, Mitgliedschaft kündigen" in cancel


def test_membership_dashboard_in_german(creator):
    plan = make_plan(creator, name="Night Owls Club")
    make_member(plan)
    make_reward(creator)
    client = logged_in(team_member(creator, Role.OWNER))
    overview = page(client, "/dashboard/memberships/", **DE)
    for words in ("Mitgliedschaften", "Neuer Tarif", "Mitglieder aktuell", "1 Mitglied", "Letzte 6 Monate",
                  "Übersicht", "Prämien", "Rabattcodes"):
        assert words in overview, words
    members = page(client, "/dashboard/memberships/members/", **DE)
    assert "1 Mitgliedschaft" in members and "Mitglieder nach Status" in members
    rewards = page(client, "/dashboard/memberships/rewards/", **DE)
    assert "100 Punkte" in rewards and "Noch keine Codes eingelöst." in rewards
    promo = page(client, "/dashboard/memberships/promo-codes/", **DE)
    assert "Rabatt- und Partnercodes" in promo and "Ersten Code anlegen" in promo
    passes = page(client, "/dashboard/memberships/passes/", **DE)
    assert "Show-Pässe" in passes and "Ersten Pass anlegen" in passes


def test_form_problems_are_announced_in_german(creator):
    client = logged_in(team_member(creator, Role.OWNER))
    data = {"name": "", "description": "", "price": "5.00", "currency": "eur", "interval": "month",
            "early_access_hours": "0", "discount_percent": "0"}
    one = client.post("/dashboard/memberships/plans/new/", data, **DE)
    assert one.status_code == 400
    assert "Bitte korrigieren Sie den Fehler unten – es wurde nichts gespeichert." in one.content.decode()
    two = client.post("/dashboard/memberships/plans/new/", dict(data, price="-1"), **DE)
    assert "Bitte korrigieren Sie die Fehler unten – es wurde nichts gespeichert." in two.content.decode()
    assert "Neuer Mitgliedschaftstarif" in two.content.decode()
