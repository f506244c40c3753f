"""API contract for events and tiers (API.md "Events and tiers"): create, edit, publish, tiers, discovery."""
from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from events.models import Event, TicketTier
from microstage.models import Role
from microstage.tests.factories import CreatorFactory, team_member

from .helpers import EventFactory, TierFactory, post_json
from microstage.permissions import SYSTEM

pytestmark = pytest.mark.django_db


def iso(dt):
    return dt.isoformat()


def event_body(creator, **kw):
    start = timezone.now() + timedelta(days=10)
    body = {"creator": creator.pk, "title": "Night Shift", "description": "Two sets.", "starts_at": iso(start),
            "ends_at": iso(start + timedelta(hours=3)), "timezone": "Europe/Berlin", "online": False,
            "venue": {"name": "Kellerbar", "address": "Hauptstr. 1, Berlin", "lat": 52.52, "lng": 13.40,
                      "capacity": 80}}
    body.update(kw)
    return body


class TestCreate:
    def test_creates_a_draft(self, owner_api, creator):
        r = post_json(owner_api, "/api/v1/events", event_body(creator))
        assert r.status_code == 201, r.content
        body = r.json()
        assert body["status"] == "draft" and body["slug"] == "night-shift"
        assert body["id"].startswith("evt_") and body["url"].endswith("/e/night-shift/")
        event = Event.objects.get(pk=body["id"])
        assert event.creator == creator and event.mode == Event.Mode.IN_PERSON
        assert (event.venue_name, event.venue_capacity, event.venue_lat) == ("Kellerbar", 80, 52.52)

    @pytest.mark.parametrize("online, venue, mode", [
        (True, {"name": "Kellerbar"}, Event.Mode.HYBRID),
        (True, None, Event.Mode.ONLINE),
        (False, {"name": "Kellerbar"}, Event.Mode.IN_PERSON),
    ])
    def test_online_and_venue_decide_the_mode(self, owner_api, creator, online, venue, mode):
        r = post_json(owner_api, "/api/v1/events", event_body(creator, online=online, venue=venue))
        assert r.status_code == 201, r.content
        assert Event.objects.get(pk=r.json()["id"]).mode == mode

    def test_manager_may_create(self, creator, make_api):
        r = post_json(make_api(team_member(creator, Role.MANAGER)), "/api/v1/events", event_body(creator))
        assert r.status_code == 201

    @pytest.mark.parametrize("role", [Role.DOOR, Role.MODERATOR])
    def test_door_and_moderator_are_forbidden(self, creator, make_api, role):
        r = post_json(make_api(team_member(creator, role)), "/api/v1/events", event_body(creator))
        assert r.status_code == 403 and r.json()["code"] == "forbidden"
        assert Event.objects.count() == 0

    def test_someone_elses_creator_is_not_found(self, auth_api, creator):
        r = post_json(auth_api, "/api/v1/events", event_body(creator))
        assert r.status_code == 404 and r.json()["code"] == "not_found"
        assert Event.objects.count() == 0

    def test_anonymous_is_401(self, api, creator):
        r = post_json(api, "/api/v1/events", event_body(creator))
        assert r.status_code == 401 and r.json()["code"] == "not_authenticated"

    @pytest.mark.parametrize("change, field", [
        ({"title": ""}, "title"),
        ({"title": "x" * 141}, "title"),
        ({"starts_at": "tomorrow"}, "starts_at"),
        ({"ends_at": None}, "ends_at"),
        ({"timezone": "Mars/Olympus"}, "timezone"),
        ({"visibility": "secret"}, "visibility"),
        ({"online": "perhaps"}, "online"),
        ({"venue": {"name": "X", "lat": 91}}, "venue.lat"),
        ({"venue": {"name": "X", "lng": "east"}}, "venue.lng"),
        ({"venue": {"name": "X", "capacity": -5}}, "venue.capacity"),
        ({"venue": {"name": "X", "capacity": 10**12}}, "venue.capacity"),
        ({"venue": {"address": "no name"}}, "venue.name"),
        ({"venue": "Kellerbar"}, "venue"),
        ({"creator": ["a", "b"]}, "creator"),
    ])
    def test_bad_input_is_a_400_naming_the_field(self, owner_api, creator, change, field):
        body = {**event_body(creator), **change}
        r = post_json(owner_api, "/api/v1/events", body)
        assert r.status_code == 400, r.content
        assert r.json()["code"] == "invalid" and any(k.startswith(field) for k in r.json()["fields"]), r.json()
        assert Event.objects.count() == 0

    def test_end_before_start_is_refused(self, owner_api, creator):
        start = timezone.now() + timedelta(days=2)
        r = post_json(owner_api, "/api/v1/events",
                      event_body(creator, starts_at=iso(start), ends_at=iso(start - timedelta(hours=1))))
        assert r.status_code == 400 and "ends_at" in r.json()["fields"]
        assert Event.objects.count() == 0

    @pytest.mark.parametrize("raw", ["{nope", "[]", "null", "42"])
    def test_malformed_json(self, owner_api, raw):
        r = post_json(owner_api, "/api/v1/events", raw)
        assert r.status_code == 400 and r.json()["code"] in {"malformed_request", "invalid"}
        assert Event.objects.count() == 0


class TestPatch:
    def test_changes_fields_and_mode(self, owner_api, draft):
        r = post_json(owner_api, f"/api/v1/events/{draft.pk}", {"title": "Renamed", "online": True}, "patch")
        assert r.status_code == 200, r.content
        draft.refresh_from_db()
        assert draft.title == "Renamed" and draft.mode == Event.Mode.HYBRID  # it still has its venue
        assert r.json()["title"] == "Renamed" and r.json()["online"] is True

    def test_clearing_the_venue(self, owner_api, draft):
        r = post_json(owner_api, f"/api/v1/events/{draft.pk}", {"venue": None, "online": True}, "patch")
        assert r.status_code == 200
        draft.refresh_from_db()
        assert draft.venue_name == "" and draft.mode == Event.Mode.ONLINE and r.json()["venue"] is None

    def test_bad_values_change_nothing(self, owner_api, draft):
        r = post_json(owner_api, f"/api/v1/events/{draft.pk}",
                      {"title": "Changed", "ends_at": iso(draft.starts_at - timedelta(hours=1))}, "patch")
        assert r.status_code == 400 and "ends_at" in r.json()["fields"]
        draft.refresh_from_db()
        assert draft.title != "Changed"

    def test_cannot_move_to_another_creator(self, owner_api, draft):
        other = CreatorFactory()
        r = post_json(owner_api, f"/api/v1/events/{draft.pk}", {"creator": other.pk}, "patch")
        assert r.status_code == 400 and "creator" in r.json()["fields"]
        assert Event.objects.get(pk=draft.pk).creator_id == draft.creator_id

    def test_other_creators_event_is_404_and_door_is_403(self, auth_api, draft, make_api):
        assert post_json(auth_api, f"/api/v1/events/{draft.pk}", {"title": "Mine"}, "patch").status_code == 404
        door = make_api(team_member(draft.creator, Role.DOOR))
        assert post_json(door, f"/api/v1/events/{draft.pk}", {"title": "Mine"}, "patch").status_code == 403
        assert post_json(auth_api, "/api/v1/events/evt_nope", {"title": "Mine"}, "patch").status_code == 404
        assert Event.objects.get(pk=draft.pk).title != "Mine"


class TestPublish:
    def test_not_ready_lists_reasons(self, owner_api, draft):
        r = owner_api.post(f"/api/v1/events/{draft.pk}/publish")
        assert r.status_code == 409
        body = r.json()
        assert body["code"] == "not_ready" and body["detail"]
        assert any("tier" in reason for reason in body["reasons"])
        assert Event.objects.get(pk=draft.pk).status == Event.Status.DRAFT

    def test_publishes_when_ready(self, owner_api, draft):
        TierFactory(event=draft)
        r = owner_api.post(f"/api/v1/events/{draft.pk}/publish")
        assert r.status_code == 200 and r.json()["status"] == "published"
        assert Event.objects.get(pk=draft.pk).status == Event.Status.PUBLISHED
        assert owner_api.post(f"/api/v1/events/{draft.pk}/publish").status_code == 200  # idempotent

    def test_access(self, auth_api, draft, make_api):
        TierFactory(event=draft)
        assert auth_api.post(f"/api/v1/events/{draft.pk}/publish").status_code == 404
        mod = make_api(team_member(draft.creator, Role.MODERATOR))
        assert mod.post(f"/api/v1/events/{draft.pk}/publish").status_code == 403
        assert Event.objects.get(pk=draft.pk).status == Event.Status.DRAFT


class TestTiers:
    def tier(self, **kw):
        body = {"name": "Backstage", "price": "45.50", "quantity": 20, "max_per_order": 4,
                "perks": ["Meet the band"]}
        body.update(kw)
        return body

    def test_adds_a_tier(self, owner_api, draft):
        r = post_json(owner_api, f"/api/v1/events/{draft.pk}/tiers", self.tier())
        assert r.status_code == 201, r.content
        body = r.json()
        assert body["id"].startswith("tier_") and body["price"] == "45.50" and body["currency"] == "EUR"
        assert body["available"] == 20 and body["perks"] == ["Meet the band"]
        tier = TicketTier.objects.get(pk=body["id"])
        assert tier.event == draft and tier.price == Decimal("45.50") and tier.max_per_order == 4

    def test_currency_is_upper_cased(self, owner_api, draft):
        r = post_json(owner_api, f"/api/v1/events/{draft.pk}/tiers", self.tier(currency="usd", price=0))
        assert r.status_code == 201 and r.json()["currency"] == "USD" and r.json()["price"] == "0.00"

    @pytest.mark.parametrize("change, field", [
        ({"price": "-1"}, "price"),
        ({"price": "12.345"}, "price"),
        ({"price": "free"}, "price"),
        ({"price": "1e9"}, "price"),
        ({"price": "NaN"}, "price"),
        ({"quantity": 0}, "quantity"),
        ({"quantity": -3}, "quantity"),
        ({"quantity": "many"}, "quantity"),
        ({"quantity": 2.5}, "quantity"),
        ({"quantity": 10**12}, "quantity"),
        ({"max_per_order": 0}, "max_per_order"),
        ({"currency": "EURO"}, "currency"),
        ({"currency": "12€"}, "currency"),
        ({"sales_start": "soon"}, "sales_start"),
        ({"perks": "all of them"}, "perks"),
        ({"perks": ["x" * 121]}, "perks"),
        ({"name": ""}, "name"),
    ])
    def test_bad_input(self, owner_api, draft, change, field):
        r = post_json(owner_api, f"/api/v1/events/{draft.pk}/tiers", self.tier(**change))
        assert r.status_code == 400, r.content
        assert r.json()["code"] == "invalid" and any(k.startswith(field) for k in r.json()["fields"]), r.json()
        assert TicketTier.objects.count() == 0

    def test_sales_window_must_be_in_order(self, owner_api, draft):
        now = timezone.now()
        r = post_json(owner_api, f"/api/v1/events/{draft.pk}/tiers",
                      self.tier(sales_start=iso(now + timedelta(days=2)), sales_end=iso(now + timedelta(days=1))))
        assert r.status_code == 400 and "sales_end" in r.json()["fields"]
        assert TicketTier.objects.count() == 0

    def test_access(self, auth_api, draft, make_api):
        assert post_json(auth_api, f"/api/v1/events/{draft.pk}/tiers", self.tier()).status_code == 404
        door = make_api(team_member(draft.creator, Role.DOOR))
        assert post_json(door, f"/api/v1/events/{draft.pk}/tiers", self.tier()).status_code == 403
        assert TicketTier.objects.count() == 0


class TestDetail:
    def test_published_event_for_anyone(self, api):
        event = EventFactory(venue_capacity=15)
        TierFactory(event=event, name="Standard", price=Decimal("12.50"), quantity=20)
        r = api.get(f"/api/v1/events/{event.pk}")
        assert r.status_code == 200
        body = r.json()
        assert body["id"] == event.pk and body["status"] == "published"
        assert body["drops"] == [] and body["group_buys"] == []
        (tier,) = body["tiers"]
        assert tier["name"] == "Standard" and tier["price"] == "12.50" and tier["currency"] == "EUR"
        assert tier["available"] == 15 and tier["on_sale"] is True  # the room is tighter than the tier
        assert body["venue"]["capacity"] == 15

    def test_draft_only_for_the_team(self, api, auth_api, draft, make_api):
        assert api.get(f"/api/v1/events/{draft.pk}").status_code == 404
        assert auth_api.get(f"/api/v1/events/{draft.pk}").status_code == 404
        door = make_api(team_member(draft.creator, Role.DOOR))
        assert door.get(f"/api/v1/events/{draft.pk}").status_code == 200
        assert api.get("/api/v1/events/evt_missing").status_code == 404


class TestDiscovery:
    def test_lists_public_published_upcoming_without_login(self, api):
        shown = EventFactory(title="Visible")
        EventFactory(title="Draft", status=Event.Status.DRAFT)
        EventFactory(title="Unlisted", visibility=Event.Visibility.UNLISTED)
        past = timezone.now() - timedelta(days=5)
        EventFactory(title="Old", starts_at=past, ends_at=past + timedelta(hours=2))
        r = api.get("/api/v1/events")
        assert r.status_code == 200
        body = r.json()
        assert [e["id"] for e in body["results"]] == [shown.pk] and body["next"] is None
        assert body["results"][0]["creator"]["slug"] == shown.creator.slug

    def test_filters(self, api):
        now = timezone.now()
        berlin = EventFactory(title="Techno night", venue_lat=52.52, venue_lng=13.40,
                              starts_at=now + timedelta(days=3), ends_at=now + timedelta(days=3, hours=2))
        paris = EventFactory(title="Jazz evening", venue_lat=48.86, venue_lng=2.35,
                             starts_at=now + timedelta(days=20), ends_at=now + timedelta(days=20, hours=2))

        def ids(**params):
            r = api.get("/api/v1/events", params)
            assert r.status_code == 200, r.content
            return [e["id"] for e in r.json()["results"]]

        assert ids(q="techno") == [berlin.pk]
        assert ids(creator=paris.creator.slug) == [paris.pk]
        assert ids(creator=paris.creator.pk) == [paris.pk]
        assert ids(starts_after=iso(now + timedelta(days=10))) == [paris.pk]
        assert ids(starts_before=iso(now + timedelta(days=10))) == [berlin.pk]
        assert ids(near="52.5,13.4", radius_km=50) == [berlin.pk]
        assert ids(near="52.5,13.4", radius_km=2000) == [berlin.pk, paris.pk]

    def test_unencoded_plus_in_an_offset_is_forgiven(self, api):
        EventFactory()
        r = api.get("/api/v1/events?starts_after=2020-01-01T00:00:00+00:00")
        assert r.status_code == 200 and len(r.json()["results"]) == 1

    @pytest.mark.parametrize("params, field", [
        ({"starts_after": "yesterday"}, "starts_after"),
        ({"starts_before": "2025-13-45"}, "starts_before"),
        ({"near": "somewhere"}, "near"),
        ({"near": "91,0"}, "near"),
        ({"near": "nan,inf"}, "near"),
        ({"near": "52,13", "radius_km": "-1"}, "radius_km"),
        ({"near": "52,13", "radius_km": "far"}, "radius_km"),
        ({"radius_km": "5"}, "near"),
        ({"page": "x"}, "page"),
        ({"page_size": "0"}, "page_size"),
    ])
    def test_bad_filters_are_400(self, api, params, field):
        r = api.get("/api/v1/events", params)
        assert r.status_code == 400, r.content
        assert r.json()["code"] == "invalid" and field in r.json()["fields"]

    def test_paginated(self, api):
        for _ in range(3):
            EventFactory()
        r = api.get("/api/v1/events", {"page_size": 2})
        assert len(r.json()["results"]) == 2 and r.json()["next"]
        r2 = api.get(r.json()["next"])
        assert len(r2.json()["results"]) == 1 and r2.json()["next"] is None

    def test_etag_and_304(self, api):
        event = EventFactory()
        r = api.get("/api/v1/events")
        etag = r["ETag"]
        assert etag.startswith('"') and not etag.startswith("W/")
        assert "public" in r["Cache-Control"] and "max-age=" in r["Cache-Control"]
        again = api.get("/api/v1/events", HTTP_IF_NONE_MATCH=etag)
        assert again.status_code == 304 and again["ETag"] == etag and not again.content
        assert api.get("/api/v1/events", HTTP_IF_NONE_MATCH=f'"other", W/{etag}').status_code == 304
        assert api.get("/api/v1/events", HTTP_IF_NONE_MATCH='"stale"').status_code == 200
        Event.objects.filter(pk=event.pk).update(title="Changed title")
        changed = api.get("/api/v1/events", HTTP_IF_NONE_MATCH=etag)
        assert changed.status_code == 200 and changed["ETag"] != etag

    def test_a_bad_token_does_not_break_the_public_list(self, api):
        r = api.get("/api/v1/events", HTTP_AUTHORIZATION="Token nonsense")
        assert r.status_code == 200


def test_schema_generates(api, user):
    r = api.get("/api/v1/schema/")
    assert r.status_code in (200, 401, 403)  # the schema view may require a login
    api.force_authenticate(user)
    r = api.get("/api/v1/schema/")
    assert r.status_code == 200
    text = r.content.decode()
    for path in ("/api/v1/events/{event_id}/checkins/sync", "/api/v1/orders/{order_id}/sandbox-pay"):
        assert path in text


@pytest.mark.parametrize("path", ["/api/v1/events/evt%00x", "/api/v1/events/evt%00x/checkins",
                                  "/api/v1/tickets/%E2%82%AC/transfer"])
def test_odd_ids_in_paths_are_a_json_404(auth_api, path):
    r = auth_api.get(path) if "checkins" not in path and "transfer" not in path else auth_api.post(path)
    assert r.status_code == 404 and r.json()["code"] == "not_found"


def test_event_detail_lists_its_group_buys_with_live_progress(api, settings):
    from groupbuys import services as groupbuys
    from catalog.services import create_product
    from microstage.tests.factories import UserFactory

    settings.PAYMENTS_PROVIDER = "sandbox"
    event = EventFactory()
    owner = team_member(event.creator, Role.OWNER)
    product = create_product(creator=event.creator, name="Hoodie", price="40.00", stock=50, actor=SYSTEM)
    gb = groupbuys.create_group_buy(actor=owner, creator_id=event.creator_id, product_id=product.pk,
                                    deadline=timezone.now() + timedelta(days=2), event_id=event.pk,
                                    price_tiers=[{"min_quantity": 2, "price": "30.00"}], max_quantity=10)
    groupbuys.join(group_buy_id=gb.pk, user=UserFactory(), quantity=1)
    body = api.get(f"/api/v1/events/{event.pk}").json()
    (entry,) = body["group_buys"]
    assert entry["id"] == gb.pk and entry["status"] == "open" and entry["committed_quantity"] == 1
    assert Decimal(entry["current_price"]) == Decimal("40.00")
    assert entry["next_tier"] == {"min_quantity": 2, "price": "30.00"} and entry["needed"] == 1
