"""The one permission check (microstage.permissions.require_role) for an event: "the event's creator"."""
from django.utils.translation import gettext as _

from microstage.errors import NotFound
from microstage.permissions import require_role, team_role

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
    not_found, forbidden = _("No such event."), forbidden or _("Your role on this creator's team does not allow this.")
    if isinstance(event, Event):
        require_role(actor, event.creator_id, roles, not_found=not_found, forbidden=forbidden)
        return event
    if actor is None:  # refused before any query, as require_role does
        raise TypeError("require_event_role() needs an actor: pass the user, or SYSTEM for trusted code.")
    # The event and the actor's role in one query.
    event = (Event.objects.select_related("creator").annotate(actor_role=team_role(actor))
             .filter(pk=str(event or "")).first())
    if event is None:
        raise NotFound(not_found)
    require_role(actor, event.creator, roles, not_found=not_found, forbidden=forbidden, fetched_role=event.actor_role)
    return event
