"""Uploads cannot plant a page on the site: every image is re-encoded under our name and media is inert.

Polyglots (a real PNG or JPEG with HTML after it), SVG with script and double extensions go through
every upload path (the products API, the dashboard's avatar, event cover and product forms, the
model field the admin uses) and come out as a clean picture with our extension, served with
nosniff and a sandboxing CSP.
"""
import io
import re
from pathlib import Path

import pytest
from django.contrib.admin.utils import quote  # admin URLs escape "_" in our ids
from django.core.files.uploadedfile import SimpleUploadedFile
from PIL import Image

from commerce import services as commerce_services
from catalog import services as catalog_services
from catalog.models import Product
from events.models import Event
from events.tests.factories import EventFactory
from microstage.media_views import MEDIA_CSP
from microstage.models import Creator, Role
from microstage.uploads import reencode_image

from microstage.tests.factories import CreatorFactory, UserFactory, team_member

pytestmark = pytest.mark.django_db

SCRIPT = b"<html><body><script>alert(document.cookie)</script></body></html>"
SVG = (b'<?xml version="1.0"?><svg xmlns="http://www.w3.org/2000/svg" width="64" height="64">'
       b'<script>alert(document.domain)</script><rect width="64" height="64"/></svg>')
STORED = re.compile(r"^[A-Za-z0-9_-]{20,}\.(png|jpg|webp)$")


def picture(fmt="PNG", size=(400, 240), **save) -> bytes:
    buf = io.BytesIO()
    Image.new("RGB", size, (91, 61, 245)).save(buf, fmt, **save)
    return buf.getvalue()


def polyglot(fmt="PNG", size=(400, 240)) -> bytes:
    """A picture Pillow reads happily, with a web page after its last byte."""
    return picture(fmt, size) + SCRIPT


def upload(name, content, content_type="image/png"):
    return SimpleUploadedFile(name, content, content_type=content_type)


@pytest.fixture
def media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    return tmp_path


def assert_clean(stored_name: str, root: Path, fmt: str) -> None:
    """The stored file is our re-encoded picture under a generated name with our extension."""
    base = Path(stored_name).name
    assert STORED.match(base), stored_name
    assert "x" != base.split(".")[0] and ".htm" not in stored_name and ".svg" not in stored_name
    data = (root / stored_name).read_bytes()
    assert b"<script" not in data and b"<html" not in data
    with Image.open(io.BytesIO(data)) as img:
        assert img.format == fmt
        img.load()


def assert_inert(response, content_type: str) -> None:
    assert response.status_code == 200
    assert response["Content-Type"] == content_type
    assert response["X-Content-Type-Options"] == "nosniff"
    assert response["Content-Security-Policy"] == MEDIA_CSP


def owner_and_creator():
    owner = UserFactory()
    creator = CreatorFactory()
    team_member(creator, Role.OWNER, owner)
    return owner, creator


# --- the one re-encoder -------------------------------------------------------------------------

@pytest.mark.parametrize("fmt, ext", [("PNG", "png"), ("JPEG", "jpg"), ("WEBP", "webp")])
def test_reencoder_drops_what_follows_the_pixels_and_names_the_file_itself(fmt, ext):
    image = reencode_image(upload("x.png.htm", polyglot(fmt)))
    assert image.name.endswith(f".{ext}") and "x" != image.name.split(".")[0] and image.format == fmt
    assert SCRIPT not in image.read() and image.image_size == (400, 240)


def test_reencoder_drops_metadata_where_a_page_could_hide():
    exif = Image.Exif()
    exif[0x010E] = SCRIPT.decode()  # ImageDescription
    data = picture("JPEG", exif=exif.tobytes())
    assert SCRIPT in data
    assert b"<script" not in reencode_image(upload("x.jpg", data, "image/jpeg")).read()


# --- the products API ----------------------------------------------------------------------------

@pytest.mark.parametrize("name", ["x.html", "x.png.htm", "x.png", "x.php.png", "../../x.html", "x"])
def test_api_product_image_polyglot_is_stored_reencoded_and_served_inert(make_api, client, media, name):
    owner, creator = owner_and_creator()
    r = make_api(owner).post("/api/v1/products", {
        "creator": creator.pk, "name": "Poster", "price": "9.00", "kind": "physical", "stock": "3",
        "image": upload(name, polyglot())}, format="multipart")
    assert r.status_code == 201, r.content
    product = Product.objects.get(pk=r.json()["id"])
    assert product.image.name.startswith("creators/products/")
    assert_clean(product.image.name, media, "PNG")
    url = r.json()["image"]
    assert url.endswith(product.image.url) and url.endswith(".png")
    assert_inert(client.get(product.image.url), "image/png")


@pytest.mark.parametrize("name, content, content_type", [
    ("x.svg", SVG, "image/svg+xml"),
    ("x.png", SVG, "image/png"),
    ("x.svg.png", SVG, "image/png"),
    ("x.html", SCRIPT, "text/html"),
    ("x.gif", picture("GIF", (64, 64)) + SCRIPT, "image/gif"),
])
def test_api_product_refuses_svg_and_non_images_with_a_clear_400(make_api, media, name, content, content_type):
    owner, creator = owner_and_creator()
    r = make_api(owner).post("/api/v1/products", {
        "creator": creator.pk, "name": "Poster", "price": "9.00", "kind": "physical", "stock": "3",
        "image": upload(name, content, content_type)}, format="multipart")
    assert r.status_code == 400, r.content
    assert r.json()["code"] == "invalid" and "image" in r.json()["fields"]
    assert not Product.objects.exists() and not [p for p in media.rglob("*") if p.is_file()]


def test_api_digital_file_gets_a_generated_name_and_downloads_as_attachment(make_api, client, media, settings):
    settings.PAYMENTS_PROVIDER = "sandbox"
    owner, creator = owner_and_creator()
    r = make_api(owner).post("/api/v1/products", {
        "creator": creator.pk, "name": "Live Album", "price": "4.00", "kind": "digital", "stock": "10",
        "file": upload("x.zip.html", SCRIPT, "text/html")}, format="multipart")
    assert r.status_code == 201, r.content
    product = Product.objects.get(pk=r.json()["id"])
    stored = Path(product.digital_file.name)
    assert stored.parent.as_posix() == "products/files" and "x" not in stored.stem.split("_")
    assert stored.suffix == ".html" and ".zip" not in stored.name   # one extension, never the client's name
    assert client.get(f"/media/{product.digital_file.name}").status_code == 404   # never a public file
    buyer = UserFactory()
    order = commerce_services.reserve(
        requests=[commerce_services.LineRequest(catalog_services.PRODUCT_KIND, product.pk, 1)], buyer=buyer)
    commerce_services.sandbox_pay(order.pk)
    order.refresh_from_db()
    [item] = catalog_services.downloads_for(order, buyer)
    client.force_login(buyer)
    response = client.get(f"/downloads/{item['token']}/")
    assert response.status_code == 200
    assert response["Content-Disposition"].startswith("attachment") and 'filename="live-album.html"' in \
        response["Content-Disposition"]


# --- dashboard uploads ---------------------------------------------------------------------------

def test_dashboard_avatar_polyglot_is_reencoded(client, media):
    owner, creator = owner_and_creator()
    client.force_login(owner)
    r = client.post("/dashboard/settings/", {"name": creator.name, "bio": "",
                                             "avatar": upload("x.jpg.html", polyglot("JPEG"), "text/html")})
    assert r.status_code == 302, r.content[:2000]
    creator.refresh_from_db()
    assert creator.avatar.name.startswith("creators/avatars/")
    assert_clean(creator.avatar.name, media, "JPEG")
    assert_inert(client.get(creator.avatar.url), "image/jpeg")


def test_dashboard_avatar_svg_is_refused(client, media):
    owner, creator = owner_and_creator()
    client.force_login(owner)
    r = client.post("/dashboard/settings/", {"name": creator.name, "bio": "",
                                             "avatar": upload("me.svg", SVG, "image/svg+xml")})
    assert r.status_code == 400 and "not an image we can read" in r.content.decode()
    creator.refresh_from_db()
    assert not creator.avatar


def test_dashboard_event_cover_polyglot_is_reencoded(client, media):
    owner, creator = owner_and_creator()
    event = EventFactory(creator=creator)
    client.force_login(owner)
    page = client.get(f"/dashboard/events/{event.pk}/edit/")
    assert page.status_code == 200
    form = page.context["form"]
    data = {k: v for k, v in form.initial.items() if v is not None and k != "cover"}
    for key in ("starts_at", "ends_at"):
        data[key] = data[key].strftime("%Y-%m-%dT%H:%M")
    data["members_only"] = "on" if data.get("members_only") else ""
    data["cover"] = upload("cover.png.htm", polyglot("WEBP", (1200, 630)), "text/html")
    r = client.post(f"/dashboard/events/{event.pk}/edit/", data)
    assert r.status_code == 302, r.content.decode()[:3000]
    event.refresh_from_db()
    assert event.cover.name.startswith("events/covers/")
    assert_clean(event.cover.name, media, "WEBP")
    assert_inert(client.get(event.cover.url), "image/webp")


def test_dashboard_product_image_polyglot_is_reencoded(client, media):
    owner, creator = owner_and_creator()
    client.force_login(owner)
    r = client.post("/dashboard/products/new/", {
        "name": "Poster", "description": "", "kind": "physical", "price": "5.00", "currency": "EUR",
        "stock": "2", "is_active": "on", "image": upload("x.png.html", polyglot(), "text/html")})
    assert r.status_code == 302, r.content.decode()[:3000]
    product = Product.objects.get(creator=creator)
    assert_clean(product.image.name, media, "PNG")


# --- any other path that writes the fields (the admin's model forms, a shell) --------------------

def test_assigning_a_raw_upload_to_the_field_still_stores_a_reencoded_picture(media):
    creator = CreatorFactory()
    creator.avatar = upload("x.html", polyglot())
    creator.save()
    creator.refresh_from_db()
    assert_clean(creator.avatar.name, media, "PNG")


def test_field_file_save_also_reencodes(media):
    from django.core.files.base import ContentFile

    creator = CreatorFactory()
    creator.avatar.save("x.png.html", ContentFile(polyglot("JPEG")))
    creator.refresh_from_db()
    assert_clean(creator.avatar.name, media, "JPEG")


def test_admin_change_form_reencodes(admin_client, media):
    creator = CreatorFactory(id="cre_22abcdefghjkmnpq")  # "_22" is an escape to the admin: its URLs quote ids
    page = admin_client.get(f"/admin/microstage/creator/{quote(creator.pk)}/change/")
    assert page.status_code == 200
    data = {k: v for k, v in page.context["adminform"].form.initial.items() if v is not None}
    data.update({"name": creator.name, "slug": creator.slug, "bio": "", "stripe_account": "",
                 "avatar": upload("x.svg", polyglot(), "image/svg+xml")})
    for key in [k for k in page.context["adminform"].form.fields if k.startswith("team")]:
        data.pop(key, None)
    data.update({"team-TOTAL_FORMS": "0", "team-INITIAL_FORMS": "0"})
    admin_client.post(f"/admin/microstage/creator/{quote(creator.pk)}/change/", data)
    creator = Creator.objects.get(pk=creator.pk)
    assert creator.avatar, "the admin did not save the avatar"
    assert_clean(creator.avatar.name, media, "PNG")


# --- serving ------------------------------------------------------------------------------------

@pytest.mark.parametrize("name, content_type", [
    ("creators/avatars/old.html", "application/octet-stream"),
    ("creators/avatars/old.svg", "application/octet-stream"),
    ("events/covers/old.png.htm", "application/octet-stream"),
    ("events/covers/old.png", "image/png"),
])
def test_media_is_served_inert_whatever_is_on_disk(client, media, name, content_type):
    """Files stored before the fix (client names and all) can no longer run as a page on the site."""
    (media / name).parent.mkdir(parents=True, exist_ok=True)
    (media / name).write_bytes(polyglot())
    r = client.get(f"/media/{name}")
    assert_inert(r, content_type)
    if content_type == "application/octet-stream":
        assert r["Content-Disposition"] == "attachment"
    else:
        assert not r.get("Content-Disposition", "").startswith("attachment")


def test_event_preview_and_cover_urls_follow_the_media_origin_setting(settings, media):
    settings.MEDIA_URL = "https://media.microstage-content.example/media/"
    event = EventFactory()
    Event.objects.filter(pk=event.pk).update(cover="events/covers/abc.png")
    event.refresh_from_db()
    assert event.cover.url == "https://media.microstage-content.example/media/events/covers/abc.png"
