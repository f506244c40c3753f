"""Tells commerce which show a ticket or drop line belongs to and when shows end (creator money settles after)."""
from commerce import sellables

from .models import Drop, Event, TicketTier


def ticket_event(line) -> str:
    return TicketTier.objects.filter(pk=line.item_id).values_list("event_id", flat=True).first() or ""


def drop_event(line) -> str:
    return Drop.objects.filter(pk=line.item_id).values_list("event_id", flat=True).first() or ""


def show_ends(event_ids: set[str]) -> dict:
    return dict(Event.objects.filter(pk__in=event_ids).values_list("pk", "ends_at"))


def register() -> None:
    sellables.register_show_ends(show_ends)
