"""Tier perks that do something: a digital download with the ticket, a merch discount during the show, a backstage
flag at the door; text-only perks stay possible and are marked; the API keeps `perks: [text]` working."""
from datetime import timedelta
from decimal import Decimal

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.utils import timezone

from commerce import services as commerce
from catalog import services as catalog
from commerce.services import LineRequest
from events import perks
from events.models import TierPerk
from events.services.tickets import qr_payload
from events.tests.factories import EventFactory, TierFactory
from events.tests.test_api_tickets import buy
from microstage.models import Role
from microstage.tests.factories import UserFactory, team_member
from microstage.permissions import SYSTEM

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _sandbox(settings, tmp_path):
    settings.PAYMENTS_PROVIDER = "sandbox"
    settings.MEDIA_ROOT = tmp_path


def client_for(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def digital(creator):
    return catalog.create_product(creator=creator, name="Live album", kind="digital", stock=1000,
                                  price=Decimal("9.00"),
                                  digital_file=SimpleUploadedFile("album.zip", b"PK-album-bytes"), actor=SYSTEM)


def test_api_tier_with_text_perks_and_entitlements():
    event = EventFactory()
    owner = client_for(team_member(event.creator, Role.OWNER))
    album = digital(event.creator)
    answer = owner.post(f"/api/v1/events/{event.pk}/tiers", {
        "name": "VIP", "price": "40.00", "quantity": 10, "perks": ["Meet the band"],
        "entitlements": [{"kind": "replay", "days": 14}, {"kind": "download", "product": album.pk},
                         {"kind": "merch_discount", "percent": "15"}, {"kind": "backstage"}]},
        content_type="application/json")
    assert answer.status_code == 201, answer.content
    body = answer.json()
    assert body["perks"] == ["Meet the band"]
    assert {e["kind"] for e in body["entitlements"]} == {"replay", "download", "merch_discount", "backstage"}
    # Text perks alone, as before.
    plain = owner.post(f"/api/v1/events/{event.pk}/tiers", {"name": "GA", "price": "10.00", "quantity": 10,
                                                            "perks": ["A warm welcome"]},
                       content_type="application/json")
    assert plain.status_code == 201 and plain.json()["entitlements"] == []


@pytest.mark.parametrize("spec", [{"kind": "teleport"}, {"kind": "replay", "days": 0},
                                  {"kind": "download", "product": "prd_nope"}, {"kind": "merch_discount"},
                                  {"kind": "merch_discount", "percent": "150"}])
def test_api_bad_entitlements_are_400_and_create_nothing(spec):
    event = EventFactory()
    owner = client_for(team_member(event.creator, Role.OWNER))
    answer = owner.post(f"/api/v1/events/{event.pk}/tiers", {"name": "VIP", "price": "40.00", "quantity": 10,
                                                             "entitlements": [spec]}, content_type="application/json")
    assert answer.status_code == 400 and answer.json()["code"] == "invalid"
    assert not event.tiers.exists()


def test_download_perk_arrives_with_the_ticket_and_goes_with_a_refund():
    tier = TierFactory()
    album = digital(tier.event.creator)
    TierPerk.objects.create(tier=tier, kind=TierPerk.Kind.DOWNLOAD, product=album)
    fan = UserFactory()
    [ticket] = buy(tier, fan)
    order = ticket.order_line.order
    downloads = catalog.downloads_for(order, fan)
    assert [d["product"] for d in downloads] == [album]
    handle, name = catalog.open_download(downloads[0]["token"], fan)
    assert handle.read() == b"PK-album-bytes" and "album" in name  # named after the product
    page = client_for(fan).get(f"/orders/{order.pk}/").content.decode()
    assert "Live album" in page
    commerce.refund(order.pk, actor=SYSTEM)
    assert catalog.downloads_for(order, fan) == []


def test_merch_discount_only_for_ticket_holders_while_the_show_runs():
    now = timezone.now()
    event = EventFactory(starts_at=now + timedelta(hours=1), ends_at=now + timedelta(hours=4))
    tier = TierFactory(event=event)
    TierPerk.objects.create(tier=tier, kind=TierPerk.Kind.MERCH_DISCOUNT, percent=Decimal("10"))
    shirt = catalog.create_product(creator=event.creator, name="Shirt", price=Decimal("25.00"), stock=10, actor=SYSTEM)
    variant = shirt.variants.get()
    fan, stranger = UserFactory(), UserFactory()
    buy(tier, fan)

    def price(user) -> Decimal:
        order = commerce.reserve(requests=[LineRequest(catalog.PRODUCT_KIND, variant.pk, 1)], buyer=user)
        commerce.cancel(order.pk, actor=user)
        return order.total

    assert price(fan) == Decimal("25.00")  # before doors
    type(event).objects.filter(pk=event.pk).update(starts_at=now - timedelta(minutes=5))
    assert price(fan) == Decimal("22.50")
    assert price(stranger) == Decimal("25.00")
    assert perks.merch_discount(fan, event.creator_id) == Decimal("10")


def test_backstage_flag_at_the_door_and_in_the_offline_bundle():
    tier = TierFactory(name="Backstage pass")
    TierPerk.objects.create(tier=tier, kind=TierPerk.Kind.BACKSTAGE)
    plain = TierFactory(event=tier.event)
    [vip] = buy(tier, UserFactory())
    [ga] = buy(plain, UserFactory())
    door = client_for(team_member(tier.event.creator, Role.DOOR))
    url = f"/api/v1/events/{tier.event.pk}/checkins"
    ok = door.post(url, {"payload": qr_payload(vip)}, content_type="application/json").json()
    assert ok["result"] == "ok" and ok["ticket"]["backstage"] is True
    assert door.post(url, {"payload": qr_payload(ga)}, content_type="application/json").json()["ticket"][
        "backstage"] is False
    bundle = door.get(f"/api/v1/events/{tier.event.pk}/checkin-bundle").json()
    assert {t["id"]: t["backstage"] for t in bundle["tickets"]} == {vip.pk: True, ga.pk: False}


def test_dashboard_tier_form_sets_entitlements_and_marks_text_perks():
    event = EventFactory()
    owner = client_for(team_member(event.creator, Role.OWNER))
    album = digital(event.creator)
    form = {"name": "VIP", "kind": "vip", "price": "40.00", "currency": "EUR", "quantity": "10",
            "max_per_order": "4", "perks": "Meet the band", "includes_replay": "on", "replay_days": "30",
            "download_product": album.pk, "merch_discount": "12.5", "backstage": "on"}
    answer = owner.post(f"/dashboard/events/{event.pk}/tiers/new/", form)
    assert answer.status_code == 302, answer.content.decode()[:2000]
    tier = event.tiers.get()
    assert {(p.kind, p.days, p.product_id, p.percent) for p in tier.entitlements.all()} == {
        ("replay", 30, None, None), ("download", None, album.pk, None),
        ("merch_discount", None, None, Decimal("12.50")), ("backstage", None, None, None)}
    assert tier.perks == ["Meet the band"]
    edit = owner.get(f"/dashboard/events/{event.pk}/tiers/{tier.pk}/").content.decode()
    assert "Text-only perks" in edit and 'name="backstage"' in edit
    form.pop("backstage")
    owner.post(f"/dashboard/events/{event.pk}/tiers/{tier.pk}/", form)
    assert not tier.entitlements.filter(kind="backstage").exists()
    landing = Client().get(event.get_absolute_url()).content.decode()
    assert 'class="perk-delivered"' in landing and 'class="perk-text"' in landing
