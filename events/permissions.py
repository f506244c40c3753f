"""The one permission check (microstage.permissions.require_role) for an event: "the event's creator"."""
from django.utils.translation import gettext as _

from microstage.errors import NotFound
from microstage.permissions import require_role

from .models import Event


def door_only() -> str:
    """The refusal for a team member who is not on the door team."""
    return _("Only the door team can check tickets in.")


def require_event_role(actor, event: Event | str, roles: frozenset[str], *, forbidden: str | None = None) -> Event:
    """The event (an Event or its id) when `actor` may act for its creator with one of `roles`.

    NotFound ("No such event.") for a missing event and for anyone outside the team; Forbidden for
    a team member whose role may not ("Your role on this creator's team does not allow this.", or
    `forbidden` when given).
    """
    if not isinstance(event, Event):
        event = Event.objects.select_related("creator").filter(pk=str(event or "")).first()
        if event is None:
            raise NotFound(_("No such event."))
    require_role(actor, event.creator_id, roles, not_found=_("No such event."),
                 forbidden=forbidden or _("Your role on this creator's team does not allow this."))
    return event
