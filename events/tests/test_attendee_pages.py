"""Attendee pages: discovery, creator pages, landing (JSON-LD, social tags, preview), calendars,
the tier picker, buying through the sandbox, my tickets with QR codes, and transfer."""
import io
import json
import re
from datetime import UTC, timedelta
from decimal import Decimal
from urllib.parse import parse_qs, urlsplit

import pytest
import segno
from django.core import mail
from django.utils import timezone
from PIL import Image

from commerce.models import Order
from events.services.checkin import check_in
from events.services.tickets import QR_PREFIX, qr_payload, read_payload
from events.models import Event, Ticket, TicketTier
from microstage.signing import read_token
from microstage.tests.factories import CreatorFactory, UserFactory
from microstage.permissions import SYSTEM

pytestmark = pytest.mark.django_db

BERLIN = (52.52, 13.405)
MUNICH = (48.137, 11.575)


def make_event(creator=None, days=3, **kw) -> Event:
    start = timezone.now() + timedelta(days=days)
    defaults = dict(creator=creator or CreatorFactory(), title="Quiet Storm", slug=f"show-{Event.objects.count()}",
                    description="A **small** room.", starts_at=start, ends_at=start + timedelta(hours=2),
                    timezone="Europe/Berlin", status=Event.Status.PUBLISHED, mode=Event.Mode.HYBRID,
                    venue_name="The Lantern Room", venue_address="Weserstraße 12, Berlin",
                    venue_lat=BERLIN[0], venue_lng=BERLIN[1], venue_capacity=60)
    defaults.update(kw)
    return Event.objects.create(**defaults)


def make_tier(event, **kw) -> TicketTier:
    defaults = dict(name="Standard", price=Decimal("18.00"), currency="EUR", quantity=5, max_per_order=4)
    defaults.update(kw)
    return TicketTier.objects.create(event=event, **defaults)


def text(response) -> str:
    return response.content.decode()


# --- discovery --------------------------------------------------------------------------------

def test_discover_search_by_words(client):
    make_event(title="Cello at midnight")
    make_event(title="Loud punk evening")
    html = text(client.get("/", {"q": "cello"}))
    assert "Cello at midnight" in html and "Loud punk evening" not in html
    assert "1 show found" in html


def test_discover_near_a_place_with_radius(client):
    make_event(title="Berlin show")
    make_event(title="Munich show", venue_lat=MUNICH[0], venue_lng=MUNICH[1])
    make_event(title="Stream only", mode=Event.Mode.ONLINE, venue_name="", venue_lat=None, venue_lng=None)
    html = text(client.get("/", {"near": "52.5,13.4", "radius_km": "25"}))
    assert "Berlin show" in html and "Munich show" not in html and "Stream only" not in html
    assert "km away" in html
    html = text(client.get("/", {"near": "52.5, 13.4", "radius_km": "250"}))
    assert "Munich show" not in html  # ~500 km away
    assert "Munich show" in text(client.get("/", {"near": "50,12", "radius_km": "250"}))


def test_discover_date_filters(client):
    make_event(title="Soon show", days=2)
    make_event(title="Later show", days=20)
    day = (timezone.now() + timedelta(days=10)).date().isoformat()
    html = text(client.get("/", {"starts_after": day}))
    assert "Later show" in html and "Soon show" not in html
    html = text(client.get("/", {"starts_before": day}))
    assert "Soon show" in html and "Later show" not in html


@pytest.mark.parametrize("params", [
    {"near": "abc"}, {"near": "999,999"}, {"near": "nan,nan"}, {"near": "1,2,3"}, {"radius_km": "-5", "near": "1,2"},
    {"radius_km": "1e309", "near": "1,2"}, {"starts_after": "not-a-date"}, {"starts_before": "2024-13-45"},
    {"page": "999"}, {"page": "-1"}, {"page": "x"}, {"q": "x" * 5000}, {"q": "\x00"},
    {"starts_after": "2030-01-02", "starts_before": "2030-01-01"},
])
def test_discover_bad_params_never_500(client, params):
    make_event(title="Still listed")
    response = client.get("/", params)
    assert response.status_code == 200


def test_discover_bad_near_is_explained_and_ignored(client):
    make_event(title="Still listed")
    html = text(client.get("/", {"near": "somewhere"}))
    assert "Use latitude,longitude" in html and "Still listed" in html


def test_discover_paginates(client):
    creator = CreatorFactory()
    for i in range(14):
        make_event(creator=creator, title=f"Show number {i:02d}", days=2 + i)
    first, second = text(client.get("/")), text(client.get("/", {"page": 2}))
    assert "Show number 00" in first and "Show number 12" not in first and "Page 1 of 2" in first
    assert "Show number 12" in second and "Show number 13" in second and "Show number 00" not in second


def test_creator_page_lists_their_upcoming_shows(client):
    creator = CreatorFactory(name="Night Owls", slug="night-owls", bio="We play *late*.")
    make_event(creator=creator, title="Owl session")
    make_event(title="Someone else's show")
    make_event(creator=creator, title="Owl draft", status=Event.Status.DRAFT)
    html = text(client.get("/c/night-owls/"))
    assert "Owl session" in html and "Someone else" not in html and "Owl draft" not in html
    assert "<em>late</em>" in html and "/c/night-owls/events.ics" in html
    assert client.get("/c/nobody-here/").status_code == 404


# --- landing page: JSON-LD, social tags, preview image -----------------------------------------

def _json_ld(html: str) -> dict:
    match = re.search(r'<script type="application/ld\+json">(.*?)</script>', html, re.S)
    assert match, "no JSON-LD on the page"
    return json.loads(match.group(1))


def test_landing_json_ld_describes_the_event(client):
    event = make_event(title="Late </script><b>Set", description="Songs & stories")
    make_tier(event, name="Standard", price=Decimal("18.00"))
    make_tier(event, name="VIP", price=Decimal("90.00"), quantity=0)
    make_tier(event, name="Early", sales_start=timezone.now() + timedelta(days=1))
    html = text(client.get(event.get_absolute_url()))
    assert "</script><b>" not in html  # the title cannot break out of the script element
    data = _json_ld(html)
    assert data["@context"] == "https://schema.org" and data["@type"] == "Event"
    assert data["name"] == "Late </script><b>Set"
    assert data["eventStatus"] == "https://schema.org/EventScheduled"
    assert data["eventAttendanceMode"] == "https://schema.org/MixedEventAttendanceMode"
    types = {loc["@type"] for loc in data["location"]}
    assert types == {"Place", "VirtualLocation"}
    place = next(loc for loc in data["location"] if loc["@type"] == "Place")
    assert place["name"] == "The Lantern Room" and place["geo"]["latitude"] == BERLIN[0]
    assert data["startDate"] == event.local_starts_at.isoformat() and data["startDate"].endswith(("+01:00", "+02:00"))
    assert data["organizer"]["name"] == event.creator.name
    offers = {o["name"]: o for o in data["offers"]}
    assert offers["Standard"]["price"] == "18.00" and offers["Standard"]["priceCurrency"] == "EUR"
    assert offers["Standard"]["availability"] == "https://schema.org/InStock"
    assert offers["VIP"]["availability"] == "https://schema.org/SoldOut"
    assert offers["Early"]["availability"] == "https://schema.org/PreSale"
    assert data["image"][0].endswith(f"/e/{event.slug}/preview.png")


def test_landing_json_ld_for_cancelled_in_person_event(client):
    event = make_event(mode=Event.Mode.IN_PERSON, status=Event.Status.CANCELLED)
    data = _json_ld(text(client.get(event.get_absolute_url())))
    assert data["eventStatus"] == "https://schema.org/EventCancelled"
    assert data["eventAttendanceMode"] == "https://schema.org/OfflineEventAttendanceMode"
    assert data["location"]["@type"] == "Place"


def _meta(html: str, attr: str, name: str) -> str:
    match = re.search(rf'<meta {attr}="{re.escape(name)}" content="([^"]*)"', html)
    assert match, f"no {name} meta tag"
    return match.group(1)


def test_landing_social_tags_point_at_absolute_preview(client, settings):
    settings.SITE_URL = "https://micro.example"
    event = make_event(title="Quiet Storm")
    html = text(client.get(event.get_absolute_url()))
    assert _meta(html, "property", "og:title") == "Quiet Storm"
    assert _meta(html, "property", "og:url") == f"https://micro.example/e/{event.slug}/"
    assert _meta(html, "property", "og:image") == f"https://micro.example/e/{event.slug}/preview.png"
    assert _meta(html, "property", "og:image:width") == "1200"
    assert _meta(html, "name", "twitter:card") == "summary_large_image"
    assert _meta(html, "name", "twitter:image") == _meta(html, "property", "og:image")


def test_stored_preview_image_is_used_when_drawn(client, settings, tmp_path):
    from events.previews import render_and_store

    settings.MEDIA_ROOT = tmp_path
    settings.SITE_URL = "https://micro.example"
    event = make_event()
    render_and_store(event.pk)
    event.refresh_from_db()
    html = text(client.get(event.get_absolute_url()))
    assert _meta(html, "property", "og:image") == "https://micro.example" + event.preview_image.url


def test_preview_png_is_1200_by_630(client):
    event = make_event(title="A title long enough to wrap over more than one line of the card")
    response = client.get(f"/e/{event.slug}/preview.png")
    assert response.status_code == 200 and response["Content-Type"] == "image/png"
    assert "max-age" in response["Cache-Control"]
    image = Image.open(io.BytesIO(response.content))
    assert image.format == "PNG" and image.size == (1200, 630)
    again = client.get(f"/e/{event.slug}/preview.png")  # served from the cache the second time
    assert again.content == response.content
    assert client.get("/e/nope/preview.png").status_code == 404


# --- calendars ---------------------------------------------------------------------------------

def _unfold(body: bytes) -> list[str]:
    raw = body.decode()
    assert raw.endswith("\r\n") and "\n" not in raw.replace("\r\n", "")  # every line ends in CRLF
    physical = raw.split("\r\n")[:-1]
    assert all(len(line.encode()) <= 75 for line in physical), "a line is longer than 75 octets"
    logical: list[str] = []
    for line in physical:
        if line.startswith(" "):
            logical[-1] += line[1:]
        else:
            logical.append(line)
    return logical


def _props(lines: list[str]) -> dict[str, str]:
    out = {}
    for line in lines:
        name, _, value = line.partition(":")
        out.setdefault(name.split(";")[0], value)
    return out


def test_event_ics_is_valid_icalendar(client):
    title = "Songs, stories; and a backslash \\ — " + "ünïcødé " * 12
    event = make_event(title=title, description="Line one\nLine two, with comma")
    response = client.get(f"/e/{event.slug}/event.ics")
    assert response.status_code == 200 and response["Content-Type"].startswith("text/calendar")
    physical = response.content.decode().split("\r\n")
    assert any(line.startswith(" ") for line in physical)  # the long summary was folded
    lines = _unfold(response.content)
    assert lines[0] == "BEGIN:VCALENDAR" and lines[-1] == "END:VCALENDAR"
    props = _props(lines)
    assert props["VERSION"] == "2.0" and props["PRODID"]
    assert props["UID"].startswith(event.pk + "@")
    assert re.fullmatch(r"\d{8}T\d{6}Z", props["DTSTAMP"])
    assert props["DTSTART"] == event.starts_at.astimezone(UTC).strftime("%Y%m%dT%H%M%SZ")
    assert props["DTEND"] == event.ends_at.astimezone(UTC).strftime("%Y%m%dT%H%M%SZ")
    assert props["SUMMARY"] == title.replace("\\", "\\\\").replace(",", "\\,").replace(";", "\\;")
    assert "Line one\\nLine two\\, with comma" in props["DESCRIPTION"]
    assert props["LOCATION"].startswith("The Lantern Room\\, Weserstraße 12")
    assert props["GEO"] == f"{BERLIN[0]:.6f};{BERLIN[1]:.6f}"
    assert props["STATUS"] == "CONFIRMED"


def test_creator_feed_has_one_vevent_per_public_show(client):
    creator = CreatorFactory(slug="owls")
    a, b = make_event(creator=creator, title="One"), make_event(creator=creator, title="Two", days=9)
    make_event(creator=creator, title="Unlisted", visibility=Event.Visibility.UNLISTED)
    make_event(title="Not theirs")
    lines = _unfold(client.get("/c/owls/events.ics").content)
    uids = [line.split(":", 1)[1] for line in lines if line.startswith("UID:")]
    assert sorted(uid.split("@")[0] for uid in uids) == sorted([a.pk, b.pk])
    assert lines.count("BEGIN:VEVENT") == 2 and f"X-WR-CALNAME:{creator.name} on Microstage" in lines
    assert client.get("/c/nobody/events.ics").status_code == 404


def test_fold_never_splits_a_multibyte_character():
    from events.ical import fold

    folded = fold("SUMMARY:" + "é" * 100)
    parts = folded.split("\r\n")
    assert all(len(p.encode()) <= 75 for p in parts)
    assert "".join(p[1:] if i else p for i, p in enumerate(parts)) == "SUMMARY:" + "é" * 100


# --- tier picker -------------------------------------------------------------------------------

def test_tier_picker_shows_availability_states(client):
    event = make_event()
    make_tier(event, name="Standard", quantity=5)
    make_tier(event, name="VIP", quantity=0)
    make_tier(event, name="Early bird", sales_end=timezone.now() - timedelta(hours=1))
    make_tier(event, name="Late", sales_start=timezone.now() + timedelta(days=1))
    html = text(client.get(event.get_absolute_url()))
    assert "5 left" in html and "Sold out" in html and "Sales ended" in html and "On sale from" in html
    assert html.count('<select name="qty_') == 1  # only the tier on sale can be chosen
    assert 'hx-trigger="every 5s, refresh"' in html and f'data-ws="/ws/events/{event.pk}/"' in html


def test_availability_partial_follows_reservations(client):
    event = make_event()
    tier = make_tier(event, quantity=5)
    partial = text(client.get(f"/e/{event.slug}/availability/"))
    assert f'id="avail-{tier.pk}"' in partial and 'hx-swap-oob="true"' in partial and "5 left" in partial
    buyer = UserFactory()
    client.force_login(buyer)
    client.post(f"/e/{event.slug}/reserve/", {f"qty_{tier.pk}": "3"})
    assert "2 left" in text(client.get(f"/e/{event.slug}/availability/"))
    client.force_login(UserFactory())  # one person holds at most max_per_order unpaid (commerce/holdlimits.py)
    client.post(f"/e/{event.slug}/reserve/", {f"qty_{tier.pk}": "2"})
    assert "Sold out" in text(client.get(f"/e/{event.slug}/availability/"))


def test_venue_capacity_limits_every_room_tier(client):
    event = make_event(venue_capacity=3)
    a = make_tier(event, name="Standard", quantity=10)
    b = make_tier(event, name="VIP", quantity=10)
    client.force_login(UserFactory())
    client.post(f"/e/{event.slug}/reserve/", {f"qty_{a.pk}": "2"})
    partial = text(client.get(f"/e/{event.slug}/availability/"))
    assert re.search(rf'id="avail-{b.pk}"[^>]*>1 left', partial)


def test_anonymous_reserve_goes_to_login_and_keeps_the_choice(client):
    event = make_event()
    tier = make_tier(event)
    response = client.post(f"/e/{event.slug}/reserve/", {f"qty_{tier.pk}": "2"})
    assert response.status_code == 302 and response["Location"].startswith("/accounts/login/")
    nxt = parse_qs(urlsplit(response["Location"]).query)["next"][0]
    assert nxt.startswith(event.get_absolute_url()) and f"qty_{tier.pk}=2" in nxt
    assert Order.objects.count() == 0
    html = text(client.get(nxt))
    assert re.search(r'<option value="2" selected>', html)


@pytest.mark.parametrize("qty, message", [
    ("5", "At most 4 of these per order"),
    ("abc", "Choose how many tickets"),
    ("-1", "Choose how many tickets"),
    ("0", "Choose at least one ticket"),
    ("99999999999999999999", "Quantities are whole numbers"),
])
def test_reserve_errors_are_clear_and_change_nothing(client, qty, message):
    event = make_event()
    tier = make_tier(event, quantity=50, max_per_order=4)
    client.force_login(UserFactory())
    response = client.post(f"/e/{event.slug}/reserve/", {f"qty_{tier.pk}": qty}, follow=True)
    assert response.status_code == 200 and message in text(response)
    assert Order.objects.count() == 0


def test_reserve_sold_out_says_so(client):
    event = make_event()
    tier = make_tier(event, quantity=2)
    client.force_login(UserFactory())
    html = text(client.post(f"/e/{event.slug}/reserve/", {f"qty_{tier.pk}": "3"}, follow=True))
    assert "only 2 available" in html and Order.objects.count() == 0
    client.post(f"/e/{event.slug}/reserve/", {f"qty_{tier.pk}": "2"})
    html = text(client.post(f"/e/{event.slug}/reserve/", {f"qty_{tier.pk}": "1"}, follow=True))
    assert "Sold out" in html and Order.objects.count() == 1


def test_reserve_for_a_tier_not_on_sale(client):
    event = make_event()
    tier = make_tier(event, sales_start=timezone.now() + timedelta(days=1))
    client.force_login(UserFactory())
    html = text(client.post(f"/e/{event.slug}/reserve/", {f"qty_{tier.pk}": "1"}, follow=True))
    assert "not on sale" in html and Order.objects.count() == 0


def test_reserve_ignores_tiers_of_other_events(client):
    event, other = make_event(), make_event()
    foreign = make_tier(other)
    client.force_login(UserFactory())
    html = text(client.post(f"/e/{event.slug}/reserve/", {f"qty_{foreign.pk}": "1"}, follow=True))
    assert "Choose at least one ticket" in html and Order.objects.count() == 0


# --- the whole purchase: reserve, pay in the sandbox, tickets with QR codes ----------------------

def buy(client, event, tier, qty="2") -> Order:
    response = client.post(f"/e/{event.slug}/reserve/", {f"qty_{tier.pk}": qty})
    assert response.status_code == 302 and response["Location"].startswith("/orders/ord_")
    order = Order.objects.get()
    html = text(client.get(order.get_absolute_url()))
    assert "Held for you for" in html and "data-countdown" in html and f"€{order.total}" in html
    pay = client.post(f"/orders/{order.pk}/pay/")
    checkout_path = urlsplit(pay["Location"]).path
    assert checkout_path.startswith("/payments/sandbox/checkout/")
    back = client.post(checkout_path, {"outcome": "pay"})
    assert back.status_code == 302 and urlsplit(back["Location"]).path == order.get_absolute_url()
    order.refresh_from_db()
    return order


def _svg_paths(html: str) -> list[str]:
    """The dark modules of every segno QR code on the page."""
    return re.findall(r'<path[^>]*class="qrline"[^>]*\sd="([^"]+)"', html)


def test_buy_in_sandbox_then_tickets_with_qr(client, django_capture_on_commit_callbacks):
    event = make_event(title="Quiet Storm")
    tier = make_tier(event)
    buyer = UserFactory()
    client.force_login(buyer)
    with django_capture_on_commit_callbacks(execute=True):
        order = buy(client, event, tier)
    assert order.status == Order.Status.PAID
    tickets = list(Ticket.objects.filter(order_line__order=order))
    assert len(tickets) == 2 and all(t.holder_id == buyer.pk for t in tickets)
    order_html = text(client.get(order.get_absolute_url() + "?paid=1"))
    assert "You're in!" in order_html and "Your tickets" in order_html and len(_svg_paths(order_html)) == 2
    assert mail.outbox and "RECEIPT" in mail.outbox[-1].body and order.pk in mail.outbox[-1].body
    assert mail.outbox[-1].attachments[0][0] == f"receipt-{order.pk}.json"

    html = text(client.get("/tickets/"))
    paths = _svg_paths(html)
    assert len(paths) == 2
    for ticket in tickets:
        payload = qr_payload(ticket)
        claims = read_token(QR_PREFIX, payload)
        assert claims == {"t": ticket.pk, "e": event.pk, "v": ticket.version}  # signed and verifiable
        expected = segno.make(payload, error="m", micro=False).svg_inline(scale=4, border=4, omitsize=True)
        assert _svg_paths(expected)[0] in paths  # the page's QR encodes exactly this
    assert event.local_starts_at.strftime("%H:%M") in html and "Europe/Berlin" in html
    assert f"/e/{event.slug}/event.ics" in html and "calendar.google.com" in html


def test_my_tickets_needs_login_and_shows_only_mine(client):
    assert client.get("/tickets/").status_code == 302
    event = make_event()
    tier = make_tier(event)
    client.force_login(UserFactory())
    buy(client, event, tier)
    client.force_login(UserFactory())
    html = text(client.get("/tickets/"))
    assert "No upcoming tickets" in html and "segno" not in html


def test_transfer_asks_then_moves_the_ticket_and_kills_the_old_qr(client, django_capture_on_commit_callbacks):
    event = make_event()
    tier = make_tier(event)
    buyer = UserFactory()
    client.force_login(buyer)
    buy(client, event, tier, qty="1")
    ticket = Ticket.objects.get()
    old_payload = qr_payload(ticket)
    friend = UserFactory(email="friend@example.com")

    confirm = client.post(f"/tickets/{ticket.pk}/transfer/", {"email": "friend@example.com"})
    assert confirm.status_code == 200 and "Send this ticket?" in text(confirm)
    ticket.refresh_from_db()
    assert ticket.holder_id == buyer.pk  # nothing moved before the confirmation

    with django_capture_on_commit_callbacks(execute=True):
        done = client.post(f"/tickets/{ticket.pk}/transfer/", {"email": "friend@example.com", "confirm": "yes"},
                           follow=True)
    assert "Ticket sent to friend@example.com" in text(done)
    ticket.refresh_from_db()
    assert ticket.holder_id is None and ticket.awaiting_claim and ticket.version == 2
    assert mail.outbox and mail.outbox[-1].to == ["friend@example.com"]
    assert read_payload(old_payload)["v"] != ticket.version
    result, _, _ = check_in(event=event, payload=old_payload, actor=SYSTEM)
    assert result == "invalid"  # the old QR no longer admits
    assert "segno" not in text(client.get("/tickets/"))
    # The friend (verified address) claims it from the emailed link and sees its QR code.
    from allauth.account.models import EmailAddress

    EmailAddress.objects.create(user=friend, email="friend@example.com", verified=True, primary=True)
    link = re.search(r"https?://\S+(/tickets/claim/\S+/)", mail.outbox[-1].body).group(1)
    client.force_login(friend)
    assert len(_svg_paths(text(client.get("/tickets/")))) == 0
    assert client.post(link).status_code == 302
    ticket.refresh_from_db()
    assert ticket.holder_id == friend.pk and not ticket.awaiting_claim
    assert len(_svg_paths(text(client.get("/tickets/")))) == 1


def test_transfer_bad_input_and_other_peoples_tickets(client):
    event = make_event()
    tier = make_tier(event)
    buyer = UserFactory()
    client.force_login(buyer)
    buy(client, event, tier, qty="1")
    ticket = Ticket.objects.get()
    bad = client.post(f"/tickets/{ticket.pk}/transfer/", {"email": "not-an-email", "confirm": "yes"})
    assert bad.status_code == 400 and "valid email" in text(bad)
    myself = client.post(f"/tickets/{ticket.pk}/transfer/", {"email": buyer.email, "confirm": "yes"})
    assert myself.status_code == 400 and "someone else" in text(myself)
    client.force_login(UserFactory())
    assert client.post(f"/tickets/{ticket.pk}/transfer/", {"email": "x@example.com", "confirm": "yes"}
                       ).status_code == 404
    assert client.post("/tickets/tkt_nope/transfer/", {"email": "x@example.com"}).status_code == 404
    ticket.refresh_from_db()
    assert ticket.holder_id == buyer.pk and ticket.version == 1


def test_free_tickets_are_issued_without_checkout(client):
    event = make_event()
    tier = make_tier(event, price=Decimal("0"))
    client.force_login(UserFactory())
    client.post(f"/e/{event.slug}/reserve/", {f"qty_{tier.pk}": "1"})
    order = Order.objects.get()
    assert "Get my free tickets" in text(client.get(order.get_absolute_url()))
    response = client.post(f"/orders/{order.pk}/pay/")
    assert response["Location"] == order.get_absolute_url()
    order.refresh_from_db()
    assert order.status == Order.Status.PAID and Ticket.objects.filter(order_line__order=order).count() == 1
