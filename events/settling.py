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
    from .models import DROP_KIND, TICKET_KIND

    sellables.register_event_of(TICKET_KIND, ticket_event)
    sellables.register_event_of(DROP_KIND, drop_event)
    sellables.register_show_ends(show_ends)
