"""Writes for events and their ticket tiers: create, change, publish, duplicate and cancel."""
import logging

from decimal import Decimal

from celery import current_app
from django.conf import settings
from django.core.exceptions import NON_FIELD_ERRORS, ValidationError
from django.core.mail import send_mail
from django.db import transaction
from django.template.loader import render_to_string
from django.utils import timezone, translation
from django.utils.text import slugify
from django.utils.translation import gettext as _

from commerce import inventory
from commerce import services as commerce
from microstage import currencies
from microstage.i18n import language_for_address
from microstage.errors import Conflict, Invalid, ServiceError
from microstage.models import EDIT_ROLES
from microstage.permissions import require_role

from .. import waitlist
from ..models import TICKET_KIND, Event, Ticket, TicketTier
from ..permissions import require_event_role
from ..selectors import readiness, tier_pools

log = logging.getLogger(__name__)
PREVIEW_TASK = "events.render_preview_image"  # events.tasks.render_preview_image, sent by name

EVENT_FIELDS = ("title", "description", "starts_at", "ends_at", "timezone", "mode", "venue_name", "venue_address",
                "venue_lat", "language", "venue_lng", "venue_capacity", "visibility", "cover", "members_only")
TIER_FIELDS = ("name", "kind", "description", "price", "currency", "quantity", "max_per_order", "sales_start",
               "sales_end", "members_only_until", "perks", "position")


def _unique_event_slug(title: str, exclude_pk: str | None = None) -> str:
    root = slugify(title)[:70].strip("-") or "event"
    slug, n = root, 2
    while Event.objects.filter(slug=slug).exclude(pk=exclude_pk).exists():
        slug = f"{root}-{n}"
        n += 1
    return slug


def _full_clean(obj, exclude=()) -> None:
    """Model validation as a service error: field messages for forms and the API alike."""
    try:
        obj.full_clean(exclude=list(exclude), validate_unique=False, validate_constraints=False)
    except ValidationError as exc:
        fields = {k if k != NON_FIELD_ERRORS else "non_field_errors": list(v) for k, v in exc.message_dict.items()}
        raise Invalid(next(iter(fields.values()))[0], fields=fields) from exc


def _cover(data: dict) -> None:
    """Re-encode an uploaded cover in `data` (the one image rule: microstage.uploads)."""
    cover = data.get("cover")
    if cover and not isinstance(cover, str):
        from django.core.exceptions import ValidationError as FormError

        from ..forms import check_cover

        try:
            data["cover"] = check_cover(cover)
        except FormError as exc:
            raise Invalid(exc.messages[0], fields={"cover": exc.messages}) from exc


def _check_times(event: Event) -> None:
    if event.starts_at and event.ends_at and event.ends_at <= event.starts_at:
        raise Invalid(_("The event must end after it starts."), fields={"ends_at": [_("Must be after the start.")]})


@transaction.atomic
def create_event(*, creator, actor, **data) -> Event:
    require_role(actor, creator, EDIT_ROLES)
    unknown = set(data) - set(EVENT_FIELDS)
    if unknown:
        raise Invalid(_("Unknown fields."), fields={k: [_("Unknown field.")] for k in unknown})
    _cover(data)
    event = Event(creator=creator, **data)
    event.slug = _unique_event_slug(event.title or "")
    _full_clean(event, exclude=["slug"])
    _check_times(event)
    event.save()
    return event


@transaction.atomic
def update_event(event: Event, *, actor, **data) -> Event:
    require_event_role(actor, event, EDIT_ROLES)
    event = Event.objects.select_for_update().get(pk=event.pk)
    if event.status == Event.Status.CANCELLED:
        raise Conflict(_("A cancelled event cannot be changed."), code="cancelled")
    _cover(data)
    for key, value in data.items():
        if key not in EVENT_FIELDS:
            raise Invalid(_("Unknown field."), fields={key: [_("Unknown field.")]})
        setattr(event, key, value)
    _full_clean(event)
    _check_times(event)
    if event.venue_capacity is not None:
        sold = inventory.sold(inventory.venue_key(event.pk))
        if event.venue_capacity < sold:
            raise Invalid(
                _("Capacity is below the tickets already sold."),
                fields={"venue_capacity": [_("At least %(sold)s tickets are sold for the room.") % {"sold": sold}]},
            )
    event.save()
    if event.status == Event.Status.PUBLISHED:
        transaction.on_commit(lambda: _render_preview_later(event.pk))
    return event


@transaction.atomic
def add_tier(event: Event, *, actor, **data) -> TicketTier:
    require_event_role(actor, event, EDIT_ROLES)
    if event.status == Event.Status.CANCELLED:
        raise Conflict(_("A cancelled event cannot sell tickets."), code="cancelled")
    unknown = set(data) - set(TIER_FIELDS)
    if unknown:
        raise Invalid(_("Unknown fields."), fields={k: [_("Unknown field.")] for k in unknown})
    data.setdefault("currency", settings.DEFAULT_CURRENCY)
    data["currency"] = (data["currency"] or settings.DEFAULT_CURRENCY).upper()
    tier = TicketTier(event=event, **data)
    _full_clean(tier)
    _check_tier(tier)
    tier.save()
    return tier


@transaction.atomic
def update_tier(tier: TicketTier, *, actor, **data) -> TicketTier:
    tier = TicketTier.objects.select_for_update().select_related("event").get(pk=tier.pk)
    require_event_role(actor, tier.event, EDIT_ROLES)
    for key, value in data.items():
        if key not in TIER_FIELDS:
            raise Invalid(_("Unknown field."), fields={key: [_("Unknown field.")]})
        setattr(tier, key, value)
    tier.currency = tier.currency.upper()
    _full_clean(tier)
    _check_tier(tier)
    sold = inventory.sold(inventory.tier_key(tier.pk))
    if tier.quantity < sold:
        raise Invalid(_("Quantity is below the tickets already sold."),
                      fields={"quantity": [_("%(sold)s are already sold.") % {"sold": sold}]})
    tier.save()
    inventory.resize(inventory.tier_key(tier.pk), tier.quantity)  # the pool counts the new quantity now
    # Watchers see the new count, and a snapshot of the old one refuses nobody once this commits.
    commerce.announce([(TICKET_KIND, tier.pk, list(tier_pools(tier)))])
    waitlist.tickets_came_back(tier.pk)  # more quantity goes to the waiting list first
    return tier


def _check_tier(tier: TicketTier) -> None:
    tier.currency = currencies.check_for_creator(tier.event.creator_id, tier.currency)
    if tier.sales_start and tier.sales_end and tier.sales_end <= tier.sales_start:
        raise Invalid(
            _("Sales must end after they start."), fields={"sales_end": [_("Must be after the sales start.")]}
        )
    if not isinstance(tier.perks, list) or not all(isinstance(p, str) and len(p) <= 120 for p in tier.perks) \
            or len(tier.perks) > 20:
        raise Invalid(_("Perks are a list of short texts."), fields={"perks": [_("Up to 20 texts of 120 characters.")]})
    if tier.price > Decimal("100000"):
        raise Invalid(_("That price is too high."), fields={"price": [_("At most 100000.")]})


@transaction.atomic
def publish(event: Event, *, actor) -> Event:
    require_event_role(actor, event, EDIT_ROLES)
    event = Event.objects.select_for_update().get(pk=event.pk)
    if event.status == Event.Status.PUBLISHED:
        return event
    if event.status == Event.Status.CANCELLED:
        raise Conflict(_("A cancelled event cannot be published."), code="cancelled")
    missing = readiness(event)
    if missing:
        raise Conflict(_("The event is not ready to publish."), code="not_ready", reasons=missing)
    event.status = Event.Status.PUBLISHED
    event.published_at = timezone.now()
    event.save(update_fields=["status", "published_at", "updated_at"])
    transaction.on_commit(lambda: _render_preview_later(event.pk))
    return event


@transaction.atomic
def duplicate(event: Event, *, actor) -> Event:
    """A draft copy with the same details and tiers, for the next show in a series."""
    require_event_role(actor, event, EDIT_ROLES)
    copy = Event.objects.get(pk=event.pk)
    copy.pk = None
    copy.id = Event._meta.get_field("id").get_default()
    copy.title = f"{event.title} (copy)"[:140]
    copy.slug = _unique_event_slug(copy.title)
    copy.status = Event.Status.DRAFT
    copy.published_at = None
    copy.preview_image = ""
    copy._state.adding = True
    copy.save()
    TicketTier.objects.bulk_create([
        TicketTier(event=copy, **{f: getattr(t, f) for f in TIER_FIELDS}) for t in event.tiers.all()])
    return copy


def cancel_event(event: Event, *, actor, reason: str = "") -> tuple[Event, int]:
    """Cancel the show: nothing more is sold, every paid order is refunded and every attendee told."""
    require_event_role(actor, event, EDIT_ROLES)
    from commerce import services as commerce
    from commerce.models import Order

    with transaction.atomic():
        event = Event.objects.select_for_update().get(pk=event.pk)
        if event.status == Event.Status.CANCELLED:
            return event, 0
        event.status = Event.Status.CANCELLED
        event.save(update_fields=["status", "updated_at"])
    from django.db.models import Q

    from ..models import BUNDLE_KIND, BundleItem

    bundle_ids = list(BundleItem.objects.filter(tier__event=event).values_list("bundle_id", flat=True))
    order_ids = list(Order.objects.filter(
        Q(lines__kind=TICKET_KIND, lines__item_id__in=list(event.tiers.values_list("pk", flat=True)))
        | Q(lines__kind=BUNDLE_KIND, lines__item_id__in=bundle_ids),  # a bundle's show is part of what was bought
        status__in=[Order.Status.PAID, Order.Status.PARTIALLY_REFUNDED]).values_list("pk", flat=True).distinct())
    refunded = 0
    for order_id in order_ids:  # one transaction per order: a failure leaves the rest refunded
        try:
            note = _("%(title)s was cancelled. %(reason)s") % {"title": event.title, "reason": reason}
            commerce.refund(order_id, actor=actor, reason=note.strip())
            refunded += 1
        except ServiceError:
            log.exception("refund of %s for cancelled event %s failed", order_id, event.pk)
    emails = set(Ticket.objects.filter(event=event).values_list("holder_email", flat=True))
    context = {"event": event, "reason": reason}
    for email in sorted(emails):
        with translation.override(language_for_address(email, event)):
            subject = settings.ACCOUNT_EMAIL_SUBJECT_PREFIX + _("%(title)s is cancelled") % {"title": event.title}
            body = render_to_string("events/email/event_cancelled.txt", context)
        send_mail(subject, body, None, [email])
    return event, refunded


def _render_preview_later(event_id: str) -> None:
    try:
        current_app.send_task(PREVIEW_TASK, args=[event_id])
    except Exception:  # noqa: BLE001 - the preview is a nicety; the page falls back to the cover
        log.warning("could not queue preview image for %s", event_id, exc_info=True)
