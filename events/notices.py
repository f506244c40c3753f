"""Messages about an event sent through the notifications service: "notify me" requests (a drop opens,
a tier's sales start), doors open, the stream is live.

A "notify me" request is claimed by setting `notified_at` in one conditional UPDATE, so however many
beat runs or workers look at it, its message goes exactly once (and the notifications service
deduplicates per person and item besides).
"""
from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext as _

from microstage.errors import Conflict
from microstage.notifications.services import notify

from .models import Drop, Event, NotifyRequest, Ticket, TicketTier

BATCH = 500
DOORS_WINDOW_MINUTES = 15  # doors-open messages go out within this long after the start, never later


def drop_link(drop: Drop) -> str:
    """Opens the event page with this drop already chosen."""
    return f"{settings.SITE_URL}/e/{drop.event.slug}/?drop={drop.pk}#drop-{drop.pk}"


def tier_link(tier: TicketTier) -> str:
    """Opens the event page with this tier already chosen (one ticket)."""
    return f"{settings.SITE_URL}/e/{tier.event.slug}/?tier={tier.pk}#tier-{tier.pk}"


def as_json(req: NotifyRequest) -> dict:
    return {"id": req.pk, "drop": req.drop_id, "tier": req.tier_id,
            "status": "notified" if req.notified_at else "waiting",
            "notified_at": req.notified_at.isoformat() if req.notified_at else None}


def _request(user, **item) -> NotifyRequest:
    try:
        with transaction.atomic():
            req, _created = NotifyRequest.objects.get_or_create(user=user, **item)
    except IntegrityError:  # the same person asking twice at the same moment
        req = NotifyRequest.objects.get(user=user, **item)
    return req


def request_drop(user, drop: Drop, now=None) -> NotifyRequest:
    """Tell `user` once when the drop opens (at once if it is open already). Idempotent per person."""
    from .selectors import drop_state

    now = now or timezone.now()
    if drop.event.status == Event.Status.CANCELLED:
        raise Conflict(_("This event is cancelled."), code="cancelled")
    if drop_state(drop, now) == Drop.Status.ENDED:
        raise Conflict(_("This drop is over."), code="ended")
    req = _request(user, drop=drop)
    if req.notified_at is None and drop.starts_at <= now:
        transaction.on_commit(send_due)
    return req


def request_tier(user, tier: TicketTier, now=None) -> NotifyRequest:
    """Tell `user` once when the tier's sales start (pre-enrolment)."""
    now = now or timezone.now()
    if tier.event.status == Event.Status.CANCELLED:
        raise Conflict(_("This event is cancelled."), code="cancelled")
    if now >= tier.event.ends_at or (tier.sales_end is not None and tier.sales_end <= now):
        raise Conflict(_("Sales of this tier are over."), code="ended")
    req = _request(user, tier=tier)
    if req.notified_at is None and tier.on_sale(now):
        transaction.on_commit(send_due)
    return req


def _claim(req_id: str, now) -> bool:
    return NotifyRequest.objects.filter(pk=req_id, notified_at__isnull=True).update(notified_at=now) == 1


def send_due(now=None) -> int:
    """Send every "notify me" whose drop is open or whose tier is on sale now; each exactly once."""
    from .selectors import drop_on_sale

    now = now or timezone.now()
    sent = 0
    drops = (NotifyRequest.objects.filter(notified_at__isnull=True, drop__isnull=False, drop__starts_at__lte=now,
                                          drop__ends_at__gt=now, drop__event__status=Event.Status.PUBLISHED)
             .filter(Q(drop__stopped_at__isnull=True) | Q(drop__stopped_at__gt=now))
             .select_related("user", "drop", "drop__event", "drop__product", "drop__variant")[:BATCH])
    for req in drops:
        drop = req.drop
        if not drop_on_sale(drop, now):
            continue
        name = drop.product.name if drop.variant is None else f"{drop.product.name} — {drop.variant.name}"
        with transaction.atomic():
            if _claim(req.pk, now):
                notify(req.user, "drop_open", drop.event, {"name": name, "url": drop_link(drop), "drop": drop},
                       key=f"drop_open:{drop.pk}")
                sent += 1
    tiers = (NotifyRequest.objects.filter(notified_at__isnull=True, tier__isnull=False,
                                          tier__event__status=Event.Status.PUBLISHED, tier__event__ends_at__gt=now)
             .filter(Q(tier__sales_start__isnull=True) | Q(tier__sales_start__lte=now))
             .filter(Q(tier__sales_end__isnull=True) | Q(tier__sales_end__gt=now))
             .select_related("user", "tier", "tier__event")[:BATCH])
    for req in tiers:
        with transaction.atomic():
            if _claim(req.pk, now):
                notify(req.user, "tier_on_sale", req.tier.event, {"name": req.tier.name, "url": tier_link(req.tier)},
                       key=f"tier_on_sale:{req.tier_id}")
                sent += 1
    return sent


# --- to every ticket holder ------------------------------------------------------------------------

def notify_holders(event: Event, kind: str, url: str, *, in_person_only: bool = False) -> int:
    """One message of `kind` to each holder of a valid ticket (deduplicated per person and event)."""
    tickets = Ticket.objects.filter(event=event, status=Ticket.Status.VALID)
    if in_person_only:
        tickets = tickets.exclude(tier__kind=TicketTier.Kind.ONLINE)
    sent = 0
    seen = set()
    for email in tickets.values_list("holder_email", flat=True).order_by("holder_email"):
        who = email.lower()
        if who in seen:
            continue
        seen.add(who)
        with transaction.atomic():
            sent += bool(notify(email, kind, event, {"url": url}, key=f"{kind}:{event.pk}"))
    return sent


def notify_stream_live(event_id: str) -> int:
    event = Event.objects.filter(pk=event_id, status=Event.Status.PUBLISHED).first()
    if event is None:
        return 0
    return notify_holders(event, "stream_live", f"{settings.SITE_URL}/e/{event.slug}/watch/")


def doors_open_due(now=None) -> int:
    """Doors open (the event's start) for in-person shows that started in the last few minutes."""
    from datetime import timedelta

    now = now or timezone.now()
    events = Event.objects.filter(status=Event.Status.PUBLISHED, starts_at__lte=now,
                                  starts_at__gt=now - timedelta(minutes=DOORS_WINDOW_MINUTES),
                                  ends_at__gt=now).exclude(mode=Event.Mode.ONLINE)
    return sum(notify_holders(e, "doors_open", f"{settings.SITE_URL}/tickets/", in_person_only=True) for e in events)
