"""Currencies are ISO 4217 codes, and a creator sells in one of them unless it enables more."""
import json

import pytest

from microstage import currencies
from microstage.errors import Invalid
from microstage.models import Creator, Role
from microstage.tests.factories import CreatorFactory, team_member

pytestmark = pytest.mark.django_db


@pytest.fixture
def owner_api(make_api):
    creator = CreatorFactory()
    client = make_api(team_member(creator, Role.OWNER))
    client.creator = creator
    return client


def draft_event(creator):
    from events.tests.factories import EventFactory

    return EventFactory(creator=creator)


def post_tier(client, event, currency):
    return client.post(f"/api/v1/events/{event.pk}/tiers", data=json.dumps(
        {"name": f"T {currency}", "price": "10.00", "quantity": 5, "currency": currency}),
        content_type="application/json")


def post_product(client, currency):
    return client.post("/api/v1/products", data={"creator": client.creator.pk, "name": "Shirt", "price": "12.50",
                                                 "currency": currency, "kind": "physical", "stock": 3}, format="json")


@pytest.mark.parametrize("code", ["ZZZ", "AAA", "XXX", "XTS", "EU", "EURO", "€€€", "e1r"])
def test_made_up_codes_are_refused(owner_api, code):
    event = draft_event(owner_api.creator)
    r = post_tier(owner_api, event, code)
    assert r.status_code == 400 and "currency" in r.json()["fields"], r.content
    r = post_product(owner_api, code)
    assert r.status_code == 400 and "currency" in r.json()["fields"], r.content


def test_one_currency_per_creator(owner_api):
    event = draft_event(owner_api.creator)
    assert post_tier(owner_api, event, "eur").status_code == 201
    assert Creator.objects.get(pk=owner_api.creator.pk).currency == "EUR"
    r = post_tier(owner_api, event, "USD")
    assert r.status_code == 400 and r.json()["code"] == "invalid" and "EUR" in r.json()["fields"]["currency"][0]
    r = post_product(owner_api, "GBP")
    assert r.status_code == 400 and "currency" in r.json()["fields"]
    assert post_product(owner_api, "EUR").status_code == 201


def test_a_creator_may_enable_more(owner_api):
    Creator.objects.filter(pk=owner_api.creator.pk).update(currency="EUR", multi_currency=True)
    event = draft_event(owner_api.creator)
    assert post_tier(owner_api, event, "EUR").status_code == 201
    assert post_tier(owner_api, event, "USD").status_code == 201


def test_the_list():
    assert {"EUR", "USD", "JPY", "CHF", "XOF"} <= currencies.codes()
    assert not {"ZZZ", "XXX", "XAU"} & currencies.codes()
    with pytest.raises(Invalid):
        currencies.check_code(None)
