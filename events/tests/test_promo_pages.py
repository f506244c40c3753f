"""Promo codes through their pages and API: the dashboard list and form (bad input changes nothing), the
API (team roles, clear errors), and each code's sales on the event analytics page."""
from decimal import Decimal

import pytest
from rest_framework.test import APIClient

from commerce import services as commerce
from commerce.services import LineRequest
from memberships import promos
from memberships.models import PromoCode
from microstage.models import Role
from microstage.tests.factories import CreatorFactory, UserFactory, team_member

from .factories import EventFactory, TierFactory
from microstage.permissions import SYSTEM

pytestmark = pytest.mark.django_db


@pytest.fixture
def tier():
    return TierFactory(event=EventFactory(), price=Decimal("20.00"), quantity=50)


@pytest.fixture
def owner(tier):
    return team_member(tier.event.creator, Role.OWNER)


def api_as(user):
    client = APIClient()
    client.force_authenticate(user)
    return client


class TestApi:
    def test_create_and_list(self, tier, owner):
        url = f"/api/v1/creators/{tier.event.creator_id}/promo-codes"
        r = api_as(owner).post(url, {"code": "radio5", "kind": "partner", "partner": "Radio 5",
                                     "amount_off": "5.00", "currency": "EUR", "tier_ids": [tier.pk],
                                     "max_uses": 10}, format="json")
        assert r.status_code == 201, r.json()
        body = r.json()
        assert (body["code"], body["amount_off"], body["tier_ids"], body["uses"]) == ("RADIO5", "5.00", [tier.pk], 0)
        listed = api_as(owner).get(url).json()["results"]
        assert [c["code"] for c in listed] == ["RADIO5"] and listed[0]["sales"]["orders"] == 0

    def test_bad_input_is_a_clear_400_and_changes_nothing(self, tier, owner):
        r = api_as(owner).post(f"/api/v1/creators/{tier.event.creator_id}/promo-codes",
                               {"code": "OK1", "percent_off": "120", "surprise": 1}, format="json")
        assert r.status_code == 400
        assert r.json()["code"] == "invalid" and "surprise" in r.json()["fields"]
        r = api_as(owner).post(f"/api/v1/creators/{tier.event.creator_id}/promo-codes", ["x"], format="json")
        assert r.status_code == 400
        assert not PromoCode.objects.exists()

    def test_roles(self, tier):
        url = f"/api/v1/creators/{tier.event.creator_id}/promo-codes"
        door = team_member(tier.event.creator, Role.DOOR)
        assert api_as(door).post(url, {"code": "X10", "percent_off": 10}, format="json").status_code == 403
        assert api_as(UserFactory()).post(url, {"code": "X10", "percent_off": 10}, format="json").status_code == 404
        assert APIClient().get(url).status_code == 401
        assert not PromoCode.objects.exists()

    def test_the_code_works_on_an_api_order(self, tier, owner):
        promos.create_promo_code(creator=tier.event.creator, code="HALF", percent_off="50", actor=SYSTEM)
        r = api_as(UserFactory()).post("/api/v1/orders", {"lines": [{"tier": tier.pk, "quantity": 1, "code": "half"}],
                                                "email": "walk@example.com"}, format="json")
        assert r.status_code == 201, r.json()
        assert r.json()["total"] == "10.00"


class TestDashboard:
    def test_create_list_and_switch_off(self, client, tier, owner):
        client.force_login(owner)
        form = client.get("/dashboard/memberships/promo-codes/new/")
        assert form.status_code == 200 and tier.name in form.content.decode()
        r = client.post("/dashboard/memberships/promo-codes/new/", {
            "code": "SPRING", "kind": "promo", "percent_off": "15", "max_uses": "3", "tier_ids": [tier.pk]})
        assert r.status_code == 302
        promo = PromoCode.objects.get()
        assert (promo.code, promo.tier_ids, promo.max_uses) == ("SPRING", [tier.pk], 3)
        page = client.get("/dashboard/memberships/promo-codes/").content.decode()
        assert "SPRING" in page and "0 / 3" in page
        client.post(f"/dashboard/memberships/promo-codes/{promo.pk}/active/", {"active": "0"})
        promo.refresh_from_db()
        assert promo.is_active is False

    def test_bad_input_shows_a_message_and_changes_nothing(self, client, tier, owner):
        client.force_login(owner)
        r = client.post("/dashboard/memberships/promo-codes/new/", {"code": "BOTH", "kind": "promo",
                                                                    "percent_off": "10", "amount_off": "2"})
        assert r.status_code == 400 and "not both" in r.content.decode()
        r = client.post("/dashboard/memberships/promo-codes/new/", {"code": "P1", "kind": "partner",
                                                                    "percent_off": "10"})
        assert r.status_code == 400 and "Name the partner" in r.content.decode()
        assert not PromoCode.objects.exists()

    def test_another_creators_code_is_404(self, client, owner):
        other = promos.create_promo_code(creator=CreatorFactory(), code="THEIRS", percent_off="5", actor=SYSTEM)
        client.force_login(owner)
        assert client.post(f"/dashboard/memberships/promo-codes/{other.pk}/active/", {"active": "0"}).status_code == 404


def test_event_analytics_shows_each_codes_sales(client, settings, tier, owner):
    settings.PAYMENTS_PROVIDER = "sandbox"
    promos.create_promo_code(creator=tier.event.creator, code="FRIENDS", kind="partner", partner="Club",
                             percent_off="10", actor=SYSTEM)
    order = commerce.reserve(requests=[LineRequest("ticket", tier.pk, 3, (("code", "FRIENDS"),))],
                             email="f@example.com")
    commerce.sandbox_pay(order.pk)
    client.force_login(owner)
    page = client.get(f"/dashboard/analytics/{tier.event.pk}/").content.decode()
    section = page[page.index('id="promo-sales"'):]
    assert "FRIENDS" in section and "54.00" in section and "6.00" in section


def test_a_buyer_types_a_promo_code_on_the_show_page(client, tier):
    promos.create_promo_code(creator=tier.event.creator, code="SPRING", percent_off="25", actor=SYSTEM)
    fan = UserFactory()
    client.force_login(fan)
    assert "promo or partner code" in client.get(tier.event.get_absolute_url()).content.decode()
    client.post(f"/e/{tier.event.slug}/reserve/", {f"qty_{tier.pk}": "2", "code": " spring "})
    from commerce.models import Order

    order = Order.objects.get(buyer=fan)
    assert order.total == Decimal("30.00")


def test_the_demo_has_promo_codes_once(settings):
    import io

    from django.core.management import call_command

    settings.PAYMENTS_PROVIDER = "sandbox"
    call_command("demo", stdout=io.StringIO())
    call_command("demo", stdout=io.StringIO())  # twice: nothing doubles
    assert sorted(PromoCode.objects.values_list("code", flat=True)) == ["RADIO5", "SPRING10"]
