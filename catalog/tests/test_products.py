"""Products: creation with variants and stock, the API's answers to bad input, the shop, the product
sellable, and signed, expiring download links for digital items."""
import io
from decimal import Decimal

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.signing import TimestampSigner
from PIL import Image

from catalog import selectors as catalog_selectors
from commerce import services
from catalog import services as catalog_services
from catalog import services as catalog
from catalog.models import Product
from commerce.models.inventory import Inventory
from microstage.errors import Conflict, Invalid, NotFound
from microstage.models import Role
from microstage.tests.factories import CreatorFactory, UserFactory, team_member
from microstage.permissions import SYSTEM

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _sandbox(settings, tmp_path):
    settings.PAYMENTS_PROVIDER = "sandbox"
    settings.MEDIA_ROOT = tmp_path


def png(size=(64, 64)) -> SimpleUploadedFile:
    buf = io.BytesIO()
    Image.new("RGB", size, "red").save(buf, "PNG")
    return SimpleUploadedFile("poster.png", buf.getvalue(), content_type="image/png")


def make_product(creator=None, **kw) -> Product:
    kw.setdefault("name", "Tour poster")
    kw.setdefault("price", Decimal("15.00"))
    kw.setdefault("stock", 5)
    kw.setdefault("actor", SYSTEM)
    return catalog.create_product(creator=creator or CreatorFactory(), **kw)


def digital(creator=None) -> Product:
    return make_product(creator, name="Live album", kind="digital", stock=1000,
                        digital_file=SimpleUploadedFile("album.zip", b"PK-album-bytes"))


def buy(item_id, buyer, quantity=1, pay=True):
    order = services.reserve(requests=[services.LineRequest(catalog.PRODUCT_KIND, item_id, quantity)], buyer=buyer)
    if pay:
        services.sandbox_pay(order.pk)
    return order


# --- services ------------------------------------------------------------------------------------

def test_product_without_variants_gets_a_default_variant_holding_the_stock():
    product = make_product(stock=7, image=png())
    [variant] = product.variants.all()
    assert (variant.name, variant.stock, variant.unit_price) == ("Default", 7, Decimal("15.00"))
    assert product.image.name.startswith("creators/products/")


def test_variants_have_their_own_stock_and_price():
    product = make_product(variants=[{"name": "S", "stock": 2}, {"name": "XL", "stock": 1, "price": "18.00"}])
    s, xl = product.variants.order_by("position")
    buyer = UserFactory()
    order = buy(xl.pk, buyer)
    assert order.total == Decimal("18.00")
    with pytest.raises(Conflict) as exc:
        buy(xl.pk, UserFactory())
    assert exc.value.code == "sold_out"
    buy(s.pk, UserFactory(), 2)
    listed = catalog_selectors.products_with_stock(Product.objects.filter(pk=product.pk))[0]
    assert listed.sold_out and [v.available for v in listed.variant_list] == [0, 0]


@pytest.mark.parametrize("kw, field", [
    ({"price": Decimal("-1")}, "price"), ({"price": Decimal("100000.01")}, "price"), ({"kind": "vinyl"}, "kind"),
    ({"name": " "}, "name"), ({"stock": -3}, "stock"), ({"currency": "EURO"}, "currency"),
    ({"variants": [{"name": "A", "stock": 1}, {"name": "a", "stock": 1}]}, "variants")])
def test_create_product_refuses_bad_input(kw, field):
    with pytest.raises(Invalid) as exc:
        make_product(**kw)
    assert field in exc.value.fields


def test_an_image_that_is_not_an_image_is_refused():
    with pytest.raises(Invalid) as exc:
        make_product(image=SimpleUploadedFile("x.png", b"not an image", content_type="image/png"))
    assert "image" in exc.value.fields


def test_stock_cannot_go_below_sold_and_moves_the_pool():
    product = make_product(stock=3)
    variant = product.variants.get()
    buy(variant.pk, UserFactory(), 2)
    with pytest.raises(Invalid):
        catalog.save_variant(product, variant_id=variant.pk, name="Default", stock=1, actor=SYSTEM)
    catalog.save_variant(product, variant_id=variant.pk, name="Default", stock=10, actor=SYSTEM)
    assert Inventory.objects.get(key=f"variant:{variant.pk}").total == 10


def test_product_offer_rules():
    product = make_product(stock=50)
    with pytest.raises(Conflict) as exc:
        buy(product.pk, UserFactory(), catalog.PRODUCT_MAX_PER_ORDER + 1, pay=False)
    assert exc.value.code == "limit_exceeded"
    catalog.update_product(product, is_active=False, actor=SYSTEM)
    with pytest.raises(NotFound):
        buy(product.pk, UserFactory(), pay=False)


def test_only_the_team_edits():
    creator = CreatorFactory()
    with pytest.raises(NotFound):
        make_product(creator, actor=UserFactory())
    door = team_member(creator, Role.DOOR)
    from microstage.errors import Forbidden

    with pytest.raises(Forbidden):
        make_product(creator, actor=door)


# --- API -----------------------------------------------------------------------------------------

def body(creator, **kw):
    return {"creator": creator.pk, "name": "Tote bag", "price": "12.50", "kind": "physical", "stock": 20, **kw}


def test_api_creates_a_product(make_api):
    owner = UserFactory()
    creator = CreatorFactory()
    team_member(creator, Role.OWNER, owner)
    r = make_api(owner).post("/api/v1/products", body(creator, currency="usd"), format="json")
    assert r.status_code == 201, r.content
    data = r.json()
    assert data["id"].startswith("prd_") and data["price"] == "12.50" and data["currency"] == "USD"
    assert data["stock"] == 20 and data["available"] == 20 and data["variants"][0]["name"] == "Default"
    # …and it sells through POST /orders as a {product: id} line
    buyer_api = make_api(UserFactory())
    r = buyer_api.post("/api/v1/orders", {"lines": [{"product": data["id"], "quantity": 2}]}, format="json")
    assert r.status_code == 201, r.content
    assert r.json()["total"] == "25.00" and r.json()["lines"][0]["product"] == data["variants"][0]["id"]


def test_api_variants(make_api):
    owner = UserFactory()
    creator = CreatorFactory()
    team_member(creator, Role.MANAGER, owner)
    data = body(creator, variants=[{"name": "S", "stock": 3}, {"name": "M", "stock": 4, "price": "14.00"}])
    del data["stock"]
    r = make_api(owner).post("/api/v1/products", data, format="json")
    assert r.status_code == 201, r.content
    assert [(v["name"], v["stock"], v["price"]) for v in r.json()["variants"]] == [("S", 3, "12.50"),
                                                                                   ("M", 4, "14.00")]


@pytest.mark.parametrize("change, field", [
    ({"price": "-1.00"}, "price"), ({"price": "100000.01"}, "price"), ({"price": "1e30"}, "price"),
    ({"price": "abc"}, "price"), ({"kind": "vinyl"}, "kind"), ({"stock": -1}, "stock"),
    ({"stock": 10**12}, "stock"), ({"name": ""}, "name"), ({"currency": "€"}, "currency")])
def test_api_bad_input_is_400(make_api, change, field):
    owner = UserFactory()
    creator = CreatorFactory()
    team_member(creator, Role.OWNER, owner)
    r = make_api(owner).post("/api/v1/products", body(creator, **change), format="json")
    assert r.status_code == 400, r.content
    assert r.json()["code"] == "invalid" and field in r.json()["fields"]


def test_api_other_creator_is_404_and_wrong_role_403(api, make_api):
    creator = CreatorFactory()
    assert make_api(UserFactory()).post("/api/v1/products", body(creator), format="json").status_code == 404
    door = team_member(creator, Role.DOOR)
    r = make_api(door).post("/api/v1/products", body(creator), format="json")
    assert r.status_code == 403 and r.json()["code"] == "forbidden"
    assert api.post("/api/v1/products", body(creator), format="json").status_code == 401
    assert Product.objects.count() == 0


def test_unknown_product_line_is_404(make_api):
    r = make_api(UserFactory()).post("/api/v1/orders", {"lines": [{"product": "prd_nope", "quantity": 1}]},
                                     format="json")
    assert r.status_code == 404


# --- shop and downloads --------------------------------------------------------------------------

def test_shop_page_lists_active_products_with_what_is_left(client):
    creator = CreatorFactory()
    make_product(creator, name="Poster", stock=4, image=png())
    make_product(creator, name="Hidden", stock=4).__class__.objects.filter(name="Hidden").update(is_active=False)
    make_product(creator, name="Gone", stock=1)
    buy(Product.objects.get(name="Gone").pk, UserFactory())
    r = client.get(f"/c/{creator.slug}/shop/")
    html = r.content.decode()
    assert r.status_code == 200
    assert "Poster" in html and "4 left" in html and "Hidden" not in html and "Sold out" in html


def test_shop_buy_reserves_and_redirects_to_the_order(client):
    creator = CreatorFactory()
    product = make_product(creator, stock=4)
    user = UserFactory()
    client.force_login(user)
    r = client.post(f"/c/{creator.slug}/shop/buy/", {"variant": product.variants.get().pk, "quantity": "2"})
    assert r.status_code == 302 and r["Location"].startswith("/orders/ord_")
    r = client.post(f"/c/{creator.slug}/shop/buy/", {"variant": product.variants.get().pk, "quantity": "5"})
    assert r.status_code == 302 and r["Location"] == f"/c/{creator.slug}/shop/"


def test_download_link_works_for_the_buyer_once_paid(client):
    product = digital()
    buyer = UserFactory()
    order = buy(product.pk, buyer, pay=False)
    assert catalog.downloads_for(order, buyer) == []
    line = order.lines.get()
    token = catalog.download_token(line, buyer)
    client.force_login(buyer)
    assert client.get(f"/downloads/{token}/").status_code == 403  # reserved, not paid
    services.sandbox_pay(order.pk)
    order.refresh_from_db()
    [item] = catalog.downloads_for(order, buyer)
    r = client.get(f"/downloads/{item['token']}/")
    assert r.status_code == 200 and b"".join(r.streaming_content) == b"PK-album-bytes"
    assert "attachment" in r["Content-Disposition"]
    page = client.get(order.get_absolute_url()).content.decode()
    assert "/downloads/" in page and "Your downloads" in page


def test_download_link_refuses_forged_expired_others_and_refunded(client, settings):
    product = digital()
    buyer, other = UserFactory(), UserFactory()
    order = buy(product.pk, buyer)
    line = order.lines.get()
    token = catalog.download_token(line, buyer)
    client.force_login(buyer)
    assert client.get(f"/downloads/{token[:-2]}xx/").status_code == 403  # forged
    forged = TimestampSigner(salt="something else").sign_object({"l": line.pk, "u": buyer.pk})
    assert client.get(f"/downloads/{forged}/").status_code == 403
    from unittest import mock

    with mock.patch.object(catalog_services, "DOWNLOAD_MAX_AGE", -1):
        assert client.get(f"/downloads/{token}/").status_code == 403  # expired
    client.force_login(other)
    assert client.get(f"/downloads/{token}/").status_code == 404  # someone else's link
    client.logout()
    assert client.get(f"/downloads/{token}/").status_code == 302  # log in first
    services.refund(order.pk, actor=SYSTEM)
    client.force_login(buyer)
    assert client.get(f"/downloads/{token}/").status_code == 403  # refunded


def test_a_digital_product_without_its_file_is_not_on_sale():
    product = make_product(kind="digital", stock=10)
    with pytest.raises(Conflict) as exc:
        buy(product.pk, UserFactory(), pay=False)
    assert exc.value.code == "not_on_sale"


def test_dashboard_products_pages(client):
    owner = UserFactory()
    creator = CreatorFactory()
    team_member(creator, Role.OWNER, owner)
    client.force_login(owner)
    from microstage.middleware import SESSION_KEY

    session = client.session
    session[SESSION_KEY] = creator.pk
    session.save()
    assert client.get("/dashboard/products/").status_code == 200
    r = client.post("/dashboard/products/new/", {"name": "Shirt", "kind": "physical", "price": "20.00",
                                                 "currency": "EUR", "stock": "3", "is_active": "on",
                                                 "image": png()})
    assert r.status_code == 302, r.content.decode()[:2000]
    product = Product.objects.get(name="Shirt")
    assert product.image
    r = client.post(f"/dashboard/products/{product.pk}/variants/", {"name": "XL", "stock": "2"})
    assert r.status_code == 302
    page = client.get(f"/dashboard/products/{product.pk}/").content.decode()
    assert "XL" in page and "Default" in page
    r = client.post("/dashboard/products/new/", {"name": "Bad", "kind": "physical", "price": "-2",
                                                 "currency": "EUR", "stock": "3"})
    assert r.status_code == 400
    other = make_product(name="Not mine")
    assert client.get(f"/dashboard/products/{other.pk}/").status_code == 404


def test_the_product_form_says_whether_it_is_made_to_order(client):
    from microstage.middleware import SESSION_KEY

    creator = CreatorFactory()
    client.force_login(team_member(creator, Role.OWNER))
    session = client.session
    session[SESSION_KEY] = creator.pk
    session.save()
    r = client.post("/dashboard/products/new/", {"name": "Hoodie", "kind": "physical", "price": "50.00",
                                                 "currency": "EUR", "stock": "0", "is_active": "on",
                                                 "made_to_order": "on"})
    assert r.status_code == 302, r.content.decode()[:2000]
    product = Product.objects.get(name="Hoodie")
    assert product.made_to_order
    assert 'name="made_to_order"' in client.get(f"/dashboard/products/{product.pk}/").content.decode()
    r = client.post(f"/dashboard/products/{product.pk}/", {"name": "Hoodie", "kind": "physical", "price": "50.00",
                                                          "currency": "EUR", "is_active": "on"})
    assert r.status_code == 302
    product.refresh_from_db()
    assert not product.made_to_order  # unticked: stocked again
    with pytest.raises(Invalid):
        catalog.update_product(product, made_to_order="yes", actor=SYSTEM)
