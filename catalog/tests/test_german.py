"""Products and orders speak German to German readers: API error details, service errors, form labels and errors,
flash messages and choice labels come from the catalogue, while the machine-readable codes stay English."""
from decimal import Decimal

import pytest
from django.test import Client
from django.utils import translation

from commerce import services
from catalog import services as catalog
from catalog.dashboard_views import ProductForm
from catalog.models import Product, ProductVariant
from commerce.models import Order
from microstage.errors import Conflict, Invalid
from microstage.middleware import SESSION_KEY
from microstage.models import Role
from microstage.tests.factories import CreatorFactory, UserFactory, team_member
from microstage.permissions import SYSTEM

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _english_after(settings):
    """A request with Accept-Language activates its language for the thread; later tests expect English."""
    yield
    translation.activate(settings.LANGUAGE_CODE)


@pytest.fixture(autouse=True)
def _sandbox(settings):
    settings.PAYMENTS_PROVIDER = "sandbox"


def _product(stock=0):
    return catalog.create_product(creator=CreatorFactory(), name="Tour poster", price=Decimal("15.00"), stock=stock,
                                  actor=SYSTEM)


def _order(api, product_id, quantity=1, **headers):
    return api.post("/api/v1/orders", {"lines": [{"product": product_id, "quantity": quantity}]}, format="json",
                    **headers)


def test_api_not_found_detail_is_german_and_the_code_stays_english(make_api):
    api = make_api(UserFactory())
    r = _order(api, "prd_nope", HTTP_ACCEPT_LANGUAGE="de")
    assert r.status_code == 404
    assert r.json()["code"] == "not_found"
    assert r.json()["detail"] == "Dieses Produkt gibt es nicht."
    assert r["Content-Language"] == "de"


def test_api_sold_out_is_german_with_the_english_code(make_api):
    product = _product(stock=1)
    api = make_api(UserFactory())
    r = _order(api, product.pk, quantity=2, HTTP_ACCEPT_LANGUAGE="de")
    assert r.status_code == 409
    body = r.json()
    assert body["code"] == "sold_out"
    assert body["detail"] == "Ausverkauft: Für diese Menge ist nicht mehr genug übrig."


def test_api_field_errors_are_german_and_the_field_names_stay(make_api):
    creator = CreatorFactory()
    api = make_api(team_member(creator, Role.OWNER))
    r = api.post("/api/v1/products", {"creator": creator.pk, "name": "Shirt", "price": "20.00", "kind": "physical",
                                      "currency": "EUR", "variants": [{"name": "M", "stock": 1},
                                                                      {"name": "m", "stock": 2}]},
                 format="json", HTTP_ACCEPT_LANGUAGE="de")
    assert r.status_code == 400
    body = r.json()
    assert body["code"] == "invalid"
    assert body["detail"] == "Variantennamen wiederholen sich."
    assert body["fields"] == {"variants": ["Geben Sie jeder Variante einen eigenen Namen."]}


def test_without_accept_language_the_api_stays_english(make_api):
    api = make_api(UserFactory())
    r = _order(api, "prd_nope")
    assert r.json() == {**r.json(), "code": "not_found", "detail": "No such product."}
    r = _order(api, "prd_nope", HTTP_ACCEPT_LANGUAGE="en")
    assert r.json()["detail"] == "No such product."


def test_service_errors_follow_the_active_language():
    creator = CreatorFactory()
    with translation.override("de"), pytest.raises(Invalid) as exc:
        catalog.create_product(creator=creator, name="", price="10.00", actor=SYSTEM)
    assert exc.value.code == "invalid"
    assert exc.value.detail == "Geben Sie dem Produkt einen Namen."
    assert exc.value.fields == {"name": ["Verwenden Sie 1 bis 120 Zeichen."]}
    with pytest.raises(Invalid) as exc:
        catalog.create_product(creator=creator, name="", price="10.00", actor=SYSTEM)
    assert exc.value.detail == "Give the product a name."


def test_counts_and_placeholders_are_filled_in_german():
    product = _product(stock=5)
    with translation.override("de"), pytest.raises(Conflict) as exc:
        services.reserve(requests=[services.LineRequest(catalog.PRODUCT_KIND, product.pk,
                                                       catalog.PRODUCT_MAX_PER_ORDER + 1)],
                        buyer=UserFactory())
    assert exc.value.code == "limit_exceeded"
    assert exc.value.detail == f"Höchstens {catalog.PRODUCT_MAX_PER_ORDER} davon pro Bestellung."


def test_choice_labels_are_german():
    with translation.override("de"):
        assert str(Order.Status.PAID.label) == "Bezahlt"
        assert str(Order.Status.PARTIALLY_REFUNDED.label) == "Teilweise erstattet"
        assert dict(Order.Status.choices)["refunded"] == "Erstattet"
    assert str(Order.Status.PAID.label) == "Paid"


def test_product_form_labels_and_errors_are_german():
    with translation.override("de"):
        form = ProductForm(data={"name": "Shirt", "kind": "physical", "price": "20.00", "currency": "E1"})
        assert not form.is_valid()
        assert form.errors["currency"] == ["Verwenden Sie einen dreibuchstabigen Währungscode wie EUR."]
        assert str(form.fields["stock"].label) == "Bestand"
        assert str(form.fields["is_active"].label) == "Im Shop erhältlich"
        html = form.as_p()
    assert "Beschreibung" in html and "Digitale Produkte liefern nach der Zahlung eine Datei." in html
    form = ProductForm(data={"name": "Shirt", "kind": "physical", "price": "20.00", "currency": "E1"})
    assert not form.is_valid()
    assert form.errors["currency"] == ["Use a three-letter currency code like EUR."]


def test_dashboard_flash_message_is_german(client):
    owner = UserFactory()
    creator = CreatorFactory()
    team_member(creator, Role.OWNER, owner)
    client.force_login(owner)
    session = client.session
    session[SESSION_KEY] = creator.pk
    session.save()
    r = client.post("/dashboard/products/new/", {"name": "Shirt", "kind": "physical", "price": "20.00",
                                                 "currency": "EUR", "stock": "3", "is_active": "on"},
                    HTTP_ACCEPT_LANGUAGE="de", follow=True)
    assert r.status_code == 200
    assert [str(m) for m in r.context["messages"]] == ["„Shirt“ hinzugefügt."]


def test_shop_in_german_with_counted_stock():
    creator = CreatorFactory(name="Night Owls", slug="night-owls")
    product = Product.objects.create(creator=creator, name="Tour poster", price=Decimal("15.00"),
                                     currency="EUR", kind="physical")
    ProductVariant.objects.create(product=product, name="A2", stock=3)
    html = Client().get(f"/c/{creator.slug}/shop/", HTTP_ACCEPT_LANGUAGE="de").content.decode()
    assert "Shop von Night Owls" in html and "In den Warenkorb" in html and "noch 3" in html
