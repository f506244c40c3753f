"""iCalendar (RFC 5545) text for events: one event's .ics and a creator's feed."""
import html
from datetime import UTC, datetime
from urllib.parse import urlsplit

from django.conf import settings
from django.utils import timezone
from django.utils.html import strip_tags
from django.utils.translation import gettext as _

from microstage.text import render_markdown

from .models import Event

CRLF = "\r\n"
MAX_OCTETS = 75  # RFC 5545 §3.1: lines longer than this are folded


def escape_text(value: str) -> str:
    """TEXT value escaping (RFC 5545 §3.3.11): backslash, semicolon, comma and newlines."""
    value = (value or "").replace("\r\n", "\n").replace("\r", "\n")
    return (value.replace("\\", "\\\\").replace(";", "\\;").replace(",", "\\,").replace("\n", "\\n"))


def fold(line: str) -> str:
    """Fold a content line into chunks of at most 75 octets, never splitting a UTF-8 character.

    Continuation lines start with one space, which counts towards their 75 octets.
    """
    out, current, size = [], "", 0
    for char in line:
        n = len(char.encode())
        limit = MAX_OCTETS if not out else MAX_OCTETS - 1
        if size + n > limit:
            out.append(current)
            current, size = "", 0
        current += char
        size += n
    out.append(current)
    return (CRLF + " ").join(out)


def utc_stamp(value: datetime) -> str:
    return value.astimezone(UTC).strftime("%Y%m%dT%H%M%SZ")


def _uid_domain() -> str:
    return urlsplit(settings.SITE_URL).hostname or "microstage"


def _plain_description(event: Event, url: str) -> str:
    # The description is Markdown; calendars show plain text, so strip the rendered tags.
    text = html.unescape(strip_tags(render_markdown(event.description or ""))).strip()
    if len(text) > 2000:
        text = text[:2000].rstrip() + "…"
    # No ORGANIZER property: it must be a calendar address (mailto:), and creators publish none.
    hosted = _("Hosted by %(creator)s. Tickets and details: %(url)s") % {"creator": event.creator.name, "url": url}
    return f"{text}\n\n{hosted}".strip()


def _location(event: Event, url: str) -> str:
    if event.mode == Event.Mode.ONLINE:
        return _("Online: %(url)s") % {"url": url}
    place = ", ".join(p for p in (event.venue_name, event.venue_address) if p)
    if event.mode == Event.Mode.HYBRID:
        return _("%(place)s + live stream") % {"place": place} if place else _("Live stream")
    return place


def vevent(event: Event, now: datetime) -> list[str]:
    url = settings.SITE_URL + event.get_absolute_url()
    lines = [
        "BEGIN:VEVENT",
        f"UID:{event.pk}@{_uid_domain()}",
        f"DTSTAMP:{utc_stamp(now)}",
        f"DTSTART:{utc_stamp(event.starts_at)}",
        f"DTEND:{utc_stamp(event.ends_at)}",
        f"SUMMARY:{escape_text(event.title)}",
        f"DESCRIPTION:{escape_text(_plain_description(event, url))}",
        f"URL:{url}",
        f"STATUS:{'CANCELLED' if event.status == Event.Status.CANCELLED else 'CONFIRMED'}",
    ]
    location = _location(event, url)
    if location:
        lines.append(f"LOCATION:{escape_text(location)}")
    if event.venue_lat is not None and event.venue_lng is not None and event.mode != Event.Mode.ONLINE:
        lines.append(f"GEO:{event.venue_lat:.6f};{event.venue_lng:.6f}")
    if event.updated_at:
        lines.append(f"LAST-MODIFIED:{utc_stamp(event.updated_at)}")
    lines.append("END:VEVENT")
    return lines


def calendar(events: list[Event], *, name: str = "", now: datetime | None = None) -> str:
    now = now or timezone.now()
    lines = ["BEGIN:VCALENDAR", "VERSION:2.0", "PRODID:-//Microstage//Events//EN", "CALSCALE:GREGORIAN",
             "METHOD:PUBLISH"]
    if name:
        lines.append(f"X-WR-CALNAME:{escape_text(name)}")
    for event in events:
        lines += vevent(event, now)
    lines.append("END:VCALENDAR")
    return "".join(fold(line) + CRLF for line in lines)
