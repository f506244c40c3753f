"""Presentation helpers for public event pages: JSON-LD, social tags, calendar links, ticket QR codes."""
import html
import json
from urllib.parse import urlencode

import segno
from django.conf import settings
from django.utils.html import strip_tags
from django.utils.safestring import SafeString, mark_safe

from microstage.text import render_markdown

from .ical import utc_stamp
from .models import Event, Ticket, TicketTier

SCHEMA = "https://schema.org/"
_JSON_SCRIPT_ESCAPES = {ord(">"): "\\u003E", ord("<"): "\\u003C", ord("&"): "\\u0026"}


def absolute(url: str) -> str:
    return url if url.startswith(("http://", "https://")) else settings.SITE_URL + url


def plain_text(markdown_text: str, limit: int = 300) -> str:
    text = " ".join(html.unescape(strip_tags(render_markdown(markdown_text or ""))).split())
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


def preview_image_url(event: Event) -> str:
    """The stored 1200×630 preview when the task has drawn it; the on-demand route otherwise."""
    if event.preview_image:
        try:
            return absolute(event.preview_image.url)
        except ValueError:
            pass
    return absolute(f"/e/{event.slug}/preview.png")


def tier_state(tier: TicketTier, now) -> str:
    """One word for what a buyer can do with a tier: on_sale, sold_out, not_yet, members_only, ended, cancelled."""
    if tier.event.status == Event.Status.CANCELLED:
        return "cancelled"
    if tier.is_on_sale:
        return "on_sale" if tier.available > 0 else "sold_out"
    if getattr(tier, "refusal", "") == "members_only":
        return "members_only"
    if tier.sales_start and tier.sales_start > now and now < tier.event.ends_at:
        return "not_yet"
    return "ended"


_AVAILABILITY = {"on_sale": "InStock", "sold_out": "SoldOut", "not_yet": "PreSale",
                 "members_only": "LimitedAvailability", "ended": "Discontinued", "cancelled": "Discontinued"}
_ATTENDANCE = {Event.Mode.IN_PERSON: "OfflineEventAttendanceMode", Event.Mode.ONLINE: "OnlineEventAttendanceMode",
               Event.Mode.HYBRID: "MixedEventAttendanceMode"}


def json_ld(event: Event, tiers: list[TicketTier]) -> dict:
    """schema.org Event for search engines (https://schema.org/Event)."""
    url = absolute(event.get_absolute_url())
    locations = []
    if event.mode != Event.Mode.ONLINE and event.venue_name:
        place = {"@type": "Place", "name": event.venue_name}
        if event.venue_address:
            place["address"] = {"@type": "PostalAddress", "streetAddress": event.venue_address}
        if event.venue_lat is not None and event.venue_lng is not None:
            place["geo"] = {"@type": "GeoCoordinates", "latitude": event.venue_lat, "longitude": event.venue_lng}
        locations.append(place)
    if event.is_online:
        locations.append({"@type": "VirtualLocation", "url": url})
    data = {
        "@context": "https://schema.org",
        "@type": "Event",
        "name": event.title,
        "description": plain_text(event.description, 500),
        "url": url,
        "startDate": event.local_starts_at.isoformat(),
        "endDate": event.local_ends_at.isoformat(),
        "eventStatus": SCHEMA + ("EventCancelled" if event.status == Event.Status.CANCELLED else "EventScheduled"),
        "eventAttendanceMode": SCHEMA + _ATTENDANCE.get(event.mode, "MixedEventAttendanceMode"),
        "location": locations[0] if len(locations) == 1 else locations,
        "image": [preview_image_url(event)],
        "organizer": {"@type": "Organization", "name": event.creator.name,
                      "url": absolute(f"/c/{event.creator.slug}/")},
        "offers": [{
            "@type": "Offer",
            "name": tier.name,
            "price": f"{tier.price:.2f}",
            "priceCurrency": tier.currency,
            "availability": SCHEMA + _AVAILABILITY[tier.state],
            "url": url + "#tickets",
            **({"validFrom": tier.sales_start.isoformat()} if tier.sales_start else {}),
        } for tier in tiers],
    }
    return data


def json_ld_script(data: dict) -> SafeString:
    """JSON for a <script type="application/ld+json">, escaped so no text can close the tag."""
    return mark_safe(json.dumps(data, ensure_ascii=False).translate(_JSON_SCRIPT_ESCAPES))  # noqa: S308


def calendar_links(event: Event) -> dict:
    url = absolute(event.get_absolute_url())
    where = ", ".join(p for p in (event.venue_name, event.venue_address) if p) or url
    google = "https://calendar.google.com/calendar/render?" + urlencode({
        "action": "TEMPLATE", "text": event.title,
        "dates": f"{utc_stamp(event.starts_at)}/{utc_stamp(event.ends_at)}",
        "details": f"{plain_text(event.description, 400)}\n\n{url}", "location": where})
    ics = f"/e/{event.slug}/event.ics"
    return {"ics": ics, "webcal": absolute(ics).replace("https://", "webcal://").replace("http://", "webcal://"),
            "google": google}


def ticket_qr_svg(payload: str, label: str) -> SafeString:
    """An inline, scalable SVG QR code (dark on white, with a quiet zone so phones scan it)."""
    svg = segno.make(payload, error="m", micro=False).svg_inline(
        scale=4, border=4, omitsize=True, dark="#000", light="#fff", title=label)
    return mark_safe(svg)  # noqa: S308 - segno's own markup; the title is escaped by segno


def ticket_label(ticket: Ticket) -> str:
    return f"Ticket {ticket.pk} for {ticket.event.title}, {ticket.tier.name}"
