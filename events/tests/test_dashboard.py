"""Creator dashboard for events, through the real pages with Django's test client."""
import csv
import io
import zoneinfo
from datetime import datetime, timedelta
from decimal import Decimal

import pytest
from django.core import mail
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone
from PIL import Image

from commerce import services as commerce
from commerce.models import Order
from events.models import Event, Ticket, TicketTier
from events.models import TICKET_KIND
from microstage.models import Role
from microstage.tests.factories import CreatorFactory, UserFactory, team_member

from .factories import EventFactory, TierFactory

pytestmark = pytest.mark.django_db
BERLIN = zoneinfo.ZoneInfo("Europe/Berlin")
NEXT_YEAR = timezone.now().year + 1
# The last Sunday of March: Berlin's clocks jump from 02:00 to 03:00, so 02:30 does not exist.
DST_GAP_DAY = max(d for d in range(25, 32) if datetime(NEXT_YEAR, 3, d).weekday() == 6)


def html(response) -> str:
    return response.content.decode()


def image_upload(size=(1200, 630), fmt="PNG", name="cover.png") -> SimpleUploadedFile:
    buf = io.BytesIO()
    Image.new("RGB", size, (91, 61, 245)).save(buf, format=fmt)
    return SimpleUploadedFile(name, buf.getvalue(), content_type=f"image/{fmt.lower()}")


def event_data(**overrides) -> dict:
    data = {"title": "Late Night Session", "description": "An **acoustic** set.", "timezone": "Europe/Berlin",
            "starts_at": f"{NEXT_YEAR}-06-21T19:30", "ends_at": f"{NEXT_YEAR}-06-21T22:00", "mode": "hybrid",
            "venue_name": "The Lantern Room", "venue_address": "Weserstraße 12, Berlin", "venue_lat": "52.4875",
            "venue_lng": "13.4297", "venue_capacity": "60", "visibility": "public"}
    data.update(overrides)
    return {k: v for k, v in data.items() if v is not None}


def tier_data(**overrides) -> dict:
    data = {"name": "Standard", "kind": "standard", "description": "", "price": "18.00", "currency": "eur",
            "quantity": "45", "max_per_order": "6", "sales_start": "", "sales_end": "", "members_only_until": "",
            "perks": "A seat in the room\n\n  Replay access  \n"}
    data.update(overrides)
    return data


@pytest.fixture
def media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    return tmp_path


@pytest.fixture
def sandbox(settings):
    settings.PAYMENTS_PROVIDER = "sandbox"


@pytest.fixture
def owner(client):
    creator = CreatorFactory(name="Night Owls")
    user = team_member(creator, Role.OWNER)
    client.force_login(user)
    client.creator, client.user = creator, user
    return client


def draft(creator, **kw):
    return EventFactory(creator=creator, status=Event.Status.DRAFT, published_at=None, **kw)


def paid_order(tier, quantity=2, buyer=None) -> Order:
    buyer = buyer or UserFactory()
    order = commerce.reserve(requests=[commerce.LineRequest(TICKET_KIND, tier.pk, quantity)], buyer=buyer)
    return commerce.sandbox_pay(order.pk)


# --- list and navigation ----------------------------------------------------------------------


def test_empty_list_says_what_to_do_next_and_nav_links_events(owner):
    r = owner.get("/dashboard/events/")
    assert r.status_code == 200
    page = html(r)
    assert "No events yet" in page and 'href="/dashboard/events/new/"' in page
    assert '<a href="/dashboard/events/" aria-current="page">Events</a>' in page
    overview = html(owner.get("/dashboard/"))
    assert 'href="/dashboard/events/"' in overview and "Create your first event" in overview


def test_list_groups_drafts_upcoming_past_and_cancelled(owner):
    c = owner.creator
    draft(c, title="Draft show")
    EventFactory(creator=c, title="Coming show")
    past = timezone.now() - timedelta(days=10)
    EventFactory(creator=c, title="Old show", starts_at=past, ends_at=past + timedelta(hours=2))
    EventFactory(creator=c, title="Called-off show", status=Event.Status.CANCELLED)
    EventFactory(title="Someone else's show")
    page = html(owner.get("/dashboard/events/"))
    for heading, title in [("Drafts", "Draft show"), ("Upcoming", "Coming show"), ("Past", "Old show"),
                           ("Cancelled", "Called-off show")]:
        assert heading in page and title in page
    assert page.index("Draft show") < page.index("Coming show") < page.index("Old show") < page.index("Called-off")
    assert "Someone else's show" not in page


def test_overview_points_to_the_next_event(owner):
    event = draft(owner.creator, title="Spring Session")
    page = html(owner.get("/dashboard/"))
    assert "Next show: Spring Session" in page and f'href="/dashboard/events/{event.pk}/"' in page


def test_anonymous_is_sent_to_login(client):
    event = EventFactory()
    for url in ["/dashboard/events/", "/dashboard/events/new/", f"/dashboard/events/{event.pk}/"]:
        r = client.get(url)
        assert r.status_code == 302 and "/accounts/login/" in r["Location"]


# --- create and edit --------------------------------------------------------------------------


def test_create_event_in_its_own_timezone_with_a_cover(owner, media):
    r = owner.post("/dashboard/events/new/", {**event_data(), "cover": image_upload()})
    event = Event.objects.get(creator=owner.creator)
    assert r.status_code == 302 and r["Location"] == f"/dashboard/events/{event.pk}/"
    assert event.status == Event.Status.DRAFT and event.timezone == "Europe/Berlin"
    # 19:30 in Berlin (summer time, UTC+2) is 17:30 UTC — not the server's zone.
    assert event.starts_at == datetime(NEXT_YEAR, 6, 21, 19, 30, tzinfo=BERLIN)
    assert event.starts_at.astimezone(zoneinfo.ZoneInfo("UTC")).hour == 17
    assert event.venue_capacity == 60 and event.venue_lat == pytest.approx(52.4875)
    assert event.cover.name.startswith("events/covers/")
    page = html(owner.get(r["Location"]))
    assert "19:30" in page and "Europe/Berlin" in page and "Add at least one ticket tier" in page


def test_edit_form_shows_times_in_the_event_timezone_and_saves(owner):
    event = draft(owner.creator, timezone="America/New_York",
                  starts_at=datetime(NEXT_YEAR, 1, 10, 20, 0, tzinfo=zoneinfo.ZoneInfo("America/New_York")),
                  ends_at=datetime(NEXT_YEAR, 1, 10, 23, 0, tzinfo=zoneinfo.ZoneInfo("America/New_York")))
    page = html(owner.get(f"/dashboard/events/{event.pk}/edit/"))
    assert f'value="{NEXT_YEAR}-01-10T20:00"' in page
    r = owner.post(f"/dashboard/events/{event.pk}/edit/", event_data(
        title="Renamed", timezone="Asia/Tokyo", starts_at=f"{NEXT_YEAR}-02-01T18:00",
        ends_at=f"{NEXT_YEAR}-02-01T21:00", mode="online", venue_name="", venue_lat="", venue_lng="",
        venue_capacity="", visibility="unlisted"))
    assert r.status_code == 302
    event.refresh_from_db()
    assert event.title == "Renamed" and event.visibility == "unlisted" and event.mode == "online"
    assert event.starts_at == datetime(NEXT_YEAR, 2, 1, 9, 0, tzinfo=zoneinfo.ZoneInfo("UTC"))
    assert event.venue_capacity is None


def _png_of_size(nbytes: int) -> SimpleUploadedFile:
    data = image_upload().read()
    return SimpleUploadedFile("big.png", data + b"\0" * (nbytes - len(data)), content_type="image/png")


@pytest.mark.parametrize("overrides,field_error", [
    ({"title": ""}, "This field is required"),
    ({"title": "   "}, "This field is required"),
    ({"ends_at": f"{NEXT_YEAR}-06-21T18:00"}, "The end must be after the start"),
    ({"ends_at": f"{NEXT_YEAR}-06-21T19:30"}, "The end must be after the start"),
    ({"starts_at": "tomorrow"}, "Enter a date and time"),
    ({"starts_at": f"{NEXT_YEAR}-13-40T99:99"}, "Enter a date and time"),
    ({"starts_at": f"{NEXT_YEAR}-03-{DST_GAP_DAY}T02:30", "ends_at": f"{NEXT_YEAR}-03-{DST_GAP_DAY}T04:00"},
     "does not exist"),
    ({"timezone": "Mars/Olympus"}, "Select a valid choice"),
    ({"mode": "teleport"}, "Select a valid choice"),
    ({"visibility": "secret"}, "Select a valid choice"),
    ({"venue_lat": "91"}, "less than or equal to 90"),
    ({"venue_lat": "nan"}, "Enter a number"),
    ({"venue_lng": ""}, "Give both latitude and longitude"),
    ({"venue_capacity": "-5"}, "greater than or equal to 1"),
    ({"venue_capacity": "99999999999999"}, "less than or equal to"),
    ({"venue_capacity": "lots"}, "Enter a whole number"),
    ({"cover": "FILE:big"}, "too large"),
    ({"cover": "FILE:text"}, "not an image we can read"),
    ({"cover": "FILE:tiny"}, "between 32 and"),
    ({"cover": "FILE:small"}, "too small"),
    ({"cover": "FILE:gif"}, "Use a JPEG, PNG or WebP image"),
    ({"cover": "FILE:bomb"}, "not an image we can read"),
])
def test_bad_event_input_shows_errors_and_creates_nothing(owner, media, overrides, field_error):
    files = {
        "FILE:big": lambda: _png_of_size(5 * 1024 * 1024 + 1),
        "FILE:text": lambda: SimpleUploadedFile("cover.png", b"#!/bin/sh\necho not an image\n", "image/png"),
        "FILE:tiny": lambda: image_upload(size=(10, 10)),
        "FILE:small": lambda: image_upload(size=(200, 100)),
        "FILE:gif": lambda: image_upload(fmt="GIF", name="cover.gif"),
        "FILE:bomb": lambda: _bomb(),
    }
    data = event_data(**{k: v for k, v in overrides.items() if not str(v).startswith("FILE:")})
    for k, v in overrides.items():
        if str(v).startswith("FILE:"):
            data[k] = files[v]()
    r = owner.post("/dashboard/events/new/", data)
    assert r.status_code == 400
    page = html(r)
    assert field_error in page
    assert 'role="alert"' in page and 'aria-invalid="true"' in page
    assert not Event.objects.exists()
    assert not any(media.rglob("*.png"))


def _bomb() -> SimpleUploadedFile:
    """A tiny PNG that claims 20000×20000 pixels: Pillow refuses it as a decompression bomb."""
    buf = io.BytesIO()
    Image.new("1", (20000, 20000)).save(buf, format="PNG")
    return SimpleUploadedFile("bomb.png", buf.getvalue(), content_type="image/png")


def test_bad_edit_changes_nothing(owner, media):
    event = draft(owner.creator, title="Keep me")
    before = Event.objects.filter(pk=event.pk).values().get()
    for data in [event_data(title=""), event_data(ends_at=f"{NEXT_YEAR}-06-20T10:00"),
                 {**event_data(), "cover": image_upload(size=(10, 10))}]:
        r = owner.post(f"/dashboard/events/{event.pk}/edit/", data)
        assert r.status_code == 400
    assert Event.objects.filter(pk=event.pk).values().get() == before


def test_capacity_below_tickets_sold_is_refused_by_the_service(owner, sandbox):
    event = EventFactory(creator=owner.creator, venue_capacity=10)
    paid_order(TierFactory(event=event, quantity=10), quantity=3)
    start = event.local_starts_at
    r = owner.post(f"/dashboard/events/{event.pk}/edit/", event_data(
        title=event.title, starts_at=start.strftime("%Y-%m-%dT%H:%M"),
        ends_at=(start + timedelta(hours=2)).strftime("%Y-%m-%dT%H:%M"), venue_capacity="2"))
    assert r.status_code == 400 and "At least 3 tickets are sold" in html(r)
    event.refresh_from_db()
    assert event.venue_capacity == 10


def test_description_markdown_is_previewed_safely(owner):
    r = owner.post("/dashboard/events/markdown-preview/",
                   {"description": "**Loud** <script>alert(1)</script> [x](javascript:alert(1)) <img src=x>"})
    assert r.status_code == 200
    body = html(r)
    assert "<strong>Loud</strong>" in body
    assert "<script" not in body and "javascript:" not in body and "<img" not in body
    event = draft(owner.creator, description="Hello *world* <script>bad()</script>")
    page = html(owner.get(f"/dashboard/events/{event.pk}/edit/"))
    assert "<em>world</em>" in page and "<script>bad()" not in page
    assert 'hx-post="/dashboard/events/markdown-preview/"' in page


# --- tiers ------------------------------------------------------------------------------------


def test_add_and_edit_a_tier(owner):
    event = draft(owner.creator)
    r = owner.post(f"/dashboard/events/{event.pk}/tiers/new/", tier_data(
        sales_start=f"{NEXT_YEAR}-05-01T10:00", members_only_until=f"{NEXT_YEAR}-05-02T10:00"))
    assert r.status_code == 302 and r["Location"].endswith("#tiers")
    tier = TicketTier.objects.get(event=event)
    assert tier.currency == "EUR" and tier.price == Decimal("18.00") and tier.quantity == 45
    assert tier.perks == ["A seat in the room", "Replay access"]
    assert tier.sales_start == datetime(NEXT_YEAR, 5, 1, 10, 0, tzinfo=BERLIN)
    assert tier.members_only_until == datetime(NEXT_YEAR, 5, 2, 10, 0, tzinfo=BERLIN)
    page = html(owner.get(f"/dashboard/events/{event.pk}/tiers/{tier.pk}/"))
    assert f'value="{NEXT_YEAR}-05-01T10:00"' in page and "Replay access" in page
    r = owner.post(f"/dashboard/events/{event.pk}/tiers/{tier.pk}/", tier_data(name="VIP", kind="vip", price="90",
                                                                               quantity="5"))
    assert r.status_code == 302
    tier.refresh_from_db()
    assert (tier.name, tier.kind, tier.price, tier.quantity) == ("VIP", "vip", Decimal("90.00"), 5)
    detail = html(owner.get(f"/dashboard/events/{event.pk}/"))
    assert "VIP" in detail and "0 sold of 5" in detail


@pytest.mark.parametrize("overrides,message", [
    ({"name": ""}, "This field is required"),
    ({"price": "-1"}, "greater than or equal to 0"),
    ({"price": "1000000"}, "less than or equal to 100000"),
    ({"price": "9999999999999999999999"}, "less than or equal to"),
    ({"price": "abc"}, "Enter a number"),
    ({"price": "NaN"}, "Enter a number"),
    ({"price": "1.999"}, "no more than 2 decimal places"),
    ({"quantity": "-1"}, "greater than or equal to 0"),
    ({"quantity": "1000000000000"}, "less than or equal to"),
    ({"quantity": "ten"}, "Enter a whole number"),
    ({"quantity": "2.5"}, "Enter a whole number"),
    ({"max_per_order": "0"}, "greater than or equal to 1"),
    ({"max_per_order": "1000"}, "less than or equal to 100"),
    ({"currency": "EU"}, "at least 3 characters"),
    ({"currency": "E1R"}, "three-letter currency code"),
    ({"currency": "EURO"}, "at most 3 characters"),
    ({"kind": "platinum"}, "Select a valid choice"),
    ({"sales_start": f"{NEXT_YEAR}-05-02T10:00", "sales_end": f"{NEXT_YEAR}-05-01T10:00"}, "Sales must end after"),
    ({"perks": "x" * 121}, "under 120 characters"),
    ({"perks": "\n".join(f"perk {i}" for i in range(21))}, "At most 20 perks"),
])
def test_bad_tier_input_shows_errors_and_adds_nothing(owner, overrides, message):
    event = draft(owner.creator)
    r = owner.post(f"/dashboard/events/{event.pk}/tiers/new/", tier_data(**overrides))
    assert r.status_code == 400
    assert message in html(r) and 'aria-invalid="true"' in html(r)
    assert not TicketTier.objects.exists()


def test_tier_quantity_cannot_go_below_sold(owner, sandbox):
    event = EventFactory(creator=owner.creator)
    tier = TierFactory(event=event, quantity=10)
    paid_order(tier, quantity=4)
    r = owner.post(f"/dashboard/events/{event.pk}/tiers/{tier.pk}/", tier_data(quantity="3"))
    assert r.status_code == 400 and "4 are already sold" in html(r)
    tier.refresh_from_db()
    assert tier.quantity == 10
    assert "4 sold of 10" in html(owner.get(f"/dashboard/events/{event.pk}/"))


# --- publish, duplicate, cancel ---------------------------------------------------------------


def test_publish_not_ready_lists_reasons_with_links_and_publishes_nothing(owner):
    event = draft(owner.creator, description="", venue_name="")
    r = owner.post(f"/dashboard/events/{event.pk}/publish/")
    assert r.status_code == 409
    page = html(r)
    assert "Not published yet" in page and 'role="alert"' in page
    assert "Write a short description" in page and f'href="/dashboard/events/{event.pk}/edit/#id_description"' in page
    assert "Add the venue" in page and f'href="/dashboard/events/{event.pk}/edit/#id_venue_name"' in page
    assert "Add at least one ticket tier" in page and f'href="/dashboard/events/{event.pk}/tiers/new/"' in page
    event.refresh_from_db()
    assert event.status == Event.Status.DRAFT and event.published_at is None


def test_publish_when_ready(owner):
    event = draft(owner.creator)
    TierFactory(event=event)
    page = html(owner.get(f"/dashboard/events/{event.pk}/"))
    assert "Everything is in place" in page
    r = owner.post(f"/dashboard/events/{event.pk}/publish/", follow=True)
    event.refresh_from_db()
    assert event.status == Event.Status.PUBLISHED and event.published_at
    assert "Published." in html(r) and f'href="/door/{event.pk}/"' in html(r)


def test_publish_needs_post(owner):
    event = draft(owner.creator)
    TierFactory(event=event)
    assert owner.get(f"/dashboard/events/{event.pk}/publish/").status_code == 405
    event.refresh_from_db()
    assert event.status == Event.Status.DRAFT


def test_duplicate_makes_a_draft_copy_with_tiers(owner):
    event = EventFactory(creator=owner.creator, title="Series #1")
    TierFactory(event=event, name="Standard")
    TierFactory(event=event, name="VIP")
    r = owner.post(f"/dashboard/events/{event.pk}/duplicate/")
    copy = Event.objects.exclude(pk=event.pk).get(creator=owner.creator)
    assert r.status_code == 302 and r["Location"] == f"/dashboard/events/{copy.pk}/edit/"
    assert copy.status == Event.Status.DRAFT and copy.title == "Series #1 (copy)"
    assert sorted(copy.tiers.values_list("name", flat=True)) == ["Standard", "VIP"]


def test_cancel_asks_for_the_title_then_refunds_voids_and_emails(owner, sandbox):
    event = EventFactory(creator=owner.creator, title="Last Dance")
    tier = TierFactory(event=event, price=Decimal("25.00"))
    order = paid_order(tier, quantity=2)
    assert order.status == Order.Status.PAID and Ticket.objects.filter(event=event, status="valid").count() == 2
    page = html(owner.get(f"/dashboard/events/{event.pk}/cancel/"))
    assert "1 paid order</strong> is refunded" in page and "2 valid tickets" in page
    mail.outbox.clear()

    r = owner.post(f"/dashboard/events/{event.pk}/cancel/", {"confirm": "Last Dnace", "reason": ""})
    assert r.status_code == 400 and "nothing was cancelled" in html(r)
    event.refresh_from_db()
    order.refresh_from_db()
    assert event.status == Event.Status.PUBLISHED and order.status == Order.Status.PAID

    r = owner.post(f"/dashboard/events/{event.pk}/cancel/", {"confirm": "  last dance ", "reason": "The band is ill."},
                   follow=True)
    assert "Last Dance is cancelled. 1 paid order refunded" in html(r)
    event.refresh_from_db()
    order.refresh_from_db()
    assert event.status == Event.Status.CANCELLED
    assert order.status == Order.Status.REFUNDED and order.refunded_total == Decimal("50.00")
    assert set(Ticket.objects.filter(event=event).values_list("status", flat=True)) == {"void"}
    cancelled_mail = [m for m in mail.outbox if "is cancelled" in m.subject]
    assert [m.to for m in cancelled_mail] == [[order.email]]
    # Nothing left to do on a cancelled event: no edit, no second cancel.
    detail = html(r)
    assert f"/dashboard/events/{event.pk}/edit/" not in detail and "Cancel event…" not in detail
    assert owner.get(f"/dashboard/events/{event.pk}/cancel/").status_code == 302


# --- access -----------------------------------------------------------------------------------


def test_another_creators_event_is_404_everywhere(owner, sandbox):
    other = EventFactory(title="Not yours")
    tier = TierFactory(event=other)
    paid_order(tier)
    urls = ["", "edit/", "cancel/", "tiers/new/", f"tiers/{tier.pk}/", "attendees/", "attendees.csv"]
    for url in urls:
        assert owner.get(f"/dashboard/events/{other.pk}/{url}").status_code == 404, url
    for url in ["edit/", "publish/", "duplicate/", "cancel/", "tiers/new/", f"tiers/{tier.pk}/"]:
        assert owner.post(f"/dashboard/events/{other.pk}/{url}", {"confirm": "Not yours", **event_data(),
                                                                   **tier_data()}).status_code == 404, url
    other.refresh_from_db()
    assert other.status == Event.Status.PUBLISHED and other.title == "Not yours"
    assert Event.objects.count() == 1 and TicketTier.objects.get().name == tier.name
    assert owner.get("/dashboard/events/evt_doesnotexist/").status_code == 404
    # A tier of another event is not reachable through one's own event either.
    mine = draft(owner.creator)
    assert owner.get(f"/dashboard/events/{mine.pk}/tiers/{tier.pk}/").status_code == 404


def test_door_sees_attendees_read_only_and_cannot_edit(client, sandbox):
    event = EventFactory(title="Door night")
    tier = TierFactory(event=event)
    paid_order(tier, quantity=1)
    door = team_member(event.creator, Role.DOOR)
    client.force_login(door)
    listing = html(client.get("/dashboard/events/"))
    assert "Door night" in listing and "New event" not in listing and f'href="/door/{event.pk}/"' in listing
    detail = html(client.get(f"/dashboard/events/{event.pk}/"))
    assert "Edit details" not in detail and "Duplicate" not in detail and f'href="/door/{event.pk}/"' in detail
    r = client.get(f"/dashboard/events/{event.pk}/attendees/")
    assert r.status_code == 200 and tier.name in html(r)
    assert client.get(f"/dashboard/events/{event.pk}/attendees.csv").status_code == 200
    for url, data in [("edit/", event_data(title="Hacked")), ("tiers/new/", tier_data()),
                      (f"tiers/{tier.pk}/", tier_data(price="0")), ("publish/", {}), ("duplicate/", {}),
                      ("cancel/", {"confirm": "Door night"})]:
        r = client.post(f"/dashboard/events/{event.pk}/{url}", data)
        assert r.status_code == 302 and r["Location"] == f"/dashboard/events/{event.pk}/", url
    assert client.get("/dashboard/events/new/").status_code == 302
    assert client.post("/dashboard/events/new/", event_data()).status_code == 302
    follow = client.get(f"/dashboard/events/{event.pk}/edit/", follow=True)
    assert "Your role (Door) cannot do that." in html(follow)
    event.refresh_from_db()
    tier.refresh_from_db()
    assert event.title == "Door night" and event.status == Event.Status.PUBLISHED
    assert tier.price == Decimal("20.00") and Event.objects.count() == 1 and TicketTier.objects.count() == 1


def test_moderator_cannot_see_attendees(client):
    event = EventFactory()
    moderator = team_member(event.creator, Role.MODERATOR)
    client.force_login(moderator)
    assert client.get("/dashboard/events/").status_code == 200
    for url in ["", "attendees/", "attendees.csv"]:
        r = client.get(f"/dashboard/events/{event.pk}/{url}")
        assert r.status_code == 302 and r["Location"] == "/dashboard/events/"


# --- attendees and CSV ------------------------------------------------------------------------


@pytest.fixture
def attended(owner, sandbox):
    event = EventFactory(creator=owner.creator, title="Crowd", slug="crowd-night")
    vip = TierFactory(event=event, name="VIP", position=1)
    std = TierFactory(event=event, name="Standard", position=0)
    ada = UserFactory(email="ada@example.com", display_name="Ada")
    eve = UserFactory(email="eve@example.com", display_name="Eve")
    paid_order(std, quantity=2, buyer=ada)
    evil = paid_order(vip, quantity=1, buyer=eve)
    Ticket.objects.filter(order_line__order=evil).update(holder_name='=HYPERLINK("http://x.test","click")')
    first = Ticket.objects.filter(holder_email="ada@example.com").order_by("created_at", "id").first()
    Ticket.objects.filter(pk=first.pk).update(checked_in_at=datetime(NEXT_YEAR, 6, 21, 17, 5,
                                                                      tzinfo=zoneinfo.ZoneInfo("UTC")))
    return event, evil


def test_attendee_list_and_search(owner, attended):
    event, evil = attended
    page = html(owner.get(f"/dashboard/events/{event.pk}/attendees/"))
    assert "3 tickets" in page and "ada@example.com" in page and "eve@example.com" in page
    assert "In since 19:05" in page  # 17:05 UTC shown in Berlin summer time
    assert "1 of 3 valid tickets checked in" in page
    page = html(owner.get(f"/dashboard/events/{event.pk}/attendees/", {"q": "eve"}))
    assert "1 ticket matching" in page and "ada@example.com" not in page
    page = html(owner.get(f"/dashboard/events/{event.pk}/attendees/", {"q": evil.pk}))
    assert "eve@example.com" in page and "ada@example.com" not in page
    page = html(owner.get(f"/dashboard/events/{event.pk}/attendees/", {"q": "nobody-at-all"}))
    assert "No ticket matches" in page
    assert owner.get(f"/dashboard/events/{event.pk}/attendees/", {"q": "x" * 500, "page": "zzz"}).status_code == 200


def test_csv_export_streams_safe_cells(owner, attended):
    event, evil = attended
    r = owner.get(f"/dashboard/events/{event.pk}/attendees.csv")
    assert r.status_code == 200 and r.streaming
    assert r["Content-Type"] == "text/csv; charset=utf-8"
    assert r["Content-Disposition"].startswith('attachment; filename="attendees-crowd-night-')
    assert r["Content-Disposition"].endswith('.csv"')
    text = b"".join(r.streaming_content).decode("utf-8-sig")
    rows = list(csv.reader(io.StringIO(text)))
    assert rows[0][:5] == ["ticket", "status", "tier", "holder_name", "holder_email"]
    assert len(rows) == 4
    by_email = {row[4]: row for row in rows[1:]}
    assert by_email["eve@example.com"][3] == "'=HYPERLINK(\"http://x.test\",\"click\")"
    assert by_email["eve@example.com"][5] == evil.pk and by_email["eve@example.com"][2] == "VIP"
    checked = [row for row in rows[1:] if row[7]]
    assert [row[7] for row in checked] == [f"{NEXT_YEAR}-06-21 19:05"]
    assert not any(cell.startswith(("=", "+", "-", "@")) for row in rows for cell in row)
    filtered = b"".join(owner.get(f"/dashboard/events/{event.pk}/attendees.csv", {"q": "ada"}).streaming_content)
    assert filtered.decode("utf-8-sig").count("ada@example.com") == 2 and b"eve@" not in filtered


def test_safe_cell_prefixes_formula_starts():
    from microstage.csvfile import cell as safe_cell

    assert safe_cell("=1+1") == "'=1+1"
    assert safe_cell("+33 6 12") == "'+33 6 12"
    assert safe_cell("-2") == "'-2"
    assert safe_cell("@SUM(A1)") == "'@SUM(A1)"
    assert safe_cell("\tx") == "'\tx"
    assert safe_cell("Ada") == "Ada" and safe_cell(None) == "" and safe_cell(3) == "3"
