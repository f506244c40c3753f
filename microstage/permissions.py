"""Who may change a creator's data: one check, `require_role(actor, creator, roles)`.

Every service that changes a creator's data takes `actor` as a required keyword and calls
`require_role` first (directly, or through one thin wrapper that names the object's creator, such
as "the event's creator"). Views pass `request.user`.

- Someone outside the creator's team (or not logged in) gets NotFound: they may not learn that
  the creator, or its event, product, order… exists.
- A team member whose role is not in `roles` gets Forbidden.
- `actor=None` is a programming error (TypeError), never "trusted": code that runs without a
  person (Celery tasks, payment webhooks, the demo, management commands, the Django admin) passes
  `SYSTEM` explicitly, so every trusted call site can be found with one grep.

Django staff: a staff user is checked like anyone else when passed as the actor. Staff act as
SYSTEM only where the admin's own code passes SYSTEM (an admin action that Django's admin
permissions already guard); being staff is never a way into a creator's team elsewhere.
"""
from django.db.models import CharField, OuterRef, Subquery, Value
from django.utils.translation import gettext as _

from .errors import Forbidden, NotFound
from .models import Creator, Role, TeamMembership

# Any role on the team (the creator's own pages and reads that every member sees).
ANY_ROLE = frozenset(Role)


class System:
    """The actor of trusted code (tasks, webhooks, the demo, commands, admin actions): not a person.

    It is never authenticated and has no primary key, so audit fields that record "who" (for
    example `created_by`) stay empty for it, as they did for trusted calls before.
    """

    is_authenticated = False
    is_anonymous = False
    is_staff = False
    pk = None
    id = None

    def __repr__(self) -> str:
        return "SYSTEM"

    def __bool__(self) -> bool:
        return True

    def __reduce__(self):  # pickled (e.g. into a task) it stays the one sentinel
        return "SYSTEM"


SYSTEM = System()


_ASK = object()  # require_role looks the actor's role up itself


def team_role(actor):
    """The actor's role on the team of the row's creator (`creator_id`), as a query expression: a caller
    that fetches an object anyway annotates it with this and hands the value to require_role as
    `fetched_role`, so the object and the check cost one query instead of two. None for strangers."""
    if actor is SYSTEM or not getattr(actor, "is_authenticated", False):
        return Value(None, output_field=CharField())
    return Subquery(TeamMembership.objects.filter(user=actor, creator_id=OuterRef("creator_id")).values("role")[:1])


def require_role(actor, creator: Creator | str, roles: frozenset[str], *, not_found: str | None = None,
                 forbidden: str | None = None, fetched_role=_ASK) -> Creator:
    """The creator, when `actor` may act for it with one of `roles`; NotFound / Forbidden otherwise.

    `creator` is a Creator or its id. `not_found` and `forbidden` replace the default messages where
    the caller names the object (for example "No such event."). SYSTEM may act for every creator.
    `fetched_role` is the actor's role as read with `team_role(actor)` in the caller's own query.
    """
    if actor is None:
        raise TypeError("require_role() needs an actor: pass the user, or SYSTEM for trusted code.")
    if not isinstance(roles, frozenset | set | tuple | list):
        raise TypeError("require_role() needs the roles that may act (e.g. EDIT_ROLES).")
    creator_id = creator.pk if isinstance(creator, Creator) else str(creator or "")
    if actor is SYSTEM:
        if isinstance(creator, Creator):
            return creator
        found = Creator.objects.filter(pk=creator_id).first()
        if found is None:
            raise NotFound(not_found or _("No such creator."))
        return found
    if fetched_role is not _ASK:
        role = fetched_role if getattr(actor, "is_authenticated", False) else None
    else:
        membership = (
            TeamMembership.objects.select_related("creator").filter(user=actor, creator_id=creator_id).first()
            if getattr(actor, "is_authenticated", False) and creator_id
            else None
        )
        role = membership.role if membership else None
        creator = membership.creator if membership else creator
    if role is None:
        raise NotFound(not_found or _("No such creator."))
    if role not in roles:
        raise Forbidden(forbidden or (_("Your role (%(role)s) does not allow this.") % {"role": Role(role).label}))
    return creator
