"""Post-show content for sale: a replay (per event) or a clip with a price, bought alone (guests by email too).

Two sellable kinds registered with commerce: "replay" (the item is the event) and "clip". Paying a line issues a
ContentAccess; refunding voids it. Who may watch a priced replay: the team, its buyers, ticket holders whose tier
includes the replay (within its window), and members whose plan includes replays. An event without a replay
offer keeps the old rule (every ticket holder, or everyone when the stream is free). A bought replay also opens
the event's priced clips.
"""
from decimal import Decimal

from django.conf import settings
from django.db import transaction
from django.db.models import Q
from django.utils.translation import gettext as _

from commerce import sellables
from commerce.models import Order, OrderLine
from commerce.sellables import Offer
from events.models import Event
from events.perks import replay_included
from memberships.selectors import perks_for
from microstage.money import parse_optional_amount
from microstage.errors import Conflict, Invalid, NotFound
from microstage.payments.money import normalise_currency

from . import selectors
from .models import Clip, ContentAccess, ReplayOffer

REPLAY_KIND = "replay"
CLIP_KIND = "clip"
MAX_PRICE = Decimal("1000.00")


# --- access ------------------------------------------------------------------------------------------

def active_offer(event: Event) -> ReplayOffer | None:
    return ReplayOffer.objects.filter(event=event, is_active=True).first()


def _verified_emails(user):
    from allauth.account.models import EmailAddress

    return EmailAddress.objects.filter(user=user, verified=True).values("email")


def owns(user, event: Event, clip: Clip | None = None) -> bool:
    """A valid bought replay of `event` (or, for a clip, that clip or the whole replay)."""
    if not getattr(user, "is_authenticated", False):
        return False
    qs = ContentAccess.objects.filter(event=event, status=ContentAccess.Status.VALID).filter(
        Q(user=user) | Q(user__isnull=True, email__in=_verified_emails(user)))
    return qs.filter(Q(clip__isnull=True) | Q(clip=clip) if clip else Q(clip__isnull=True)).exists()


def can_watch_replay(event: Event, user) -> bool:
    offer = active_offer(event)
    if offer is None:
        return selectors.can_watch(event, user)
    if selectors.is_team(user, event.creator_id):
        return True
    if event.status != Event.Status.PUBLISHED or not getattr(user, "is_authenticated", False):
        return False
    return (owns(user, event) or replay_included(user, event)
            or perks_for(user, event.creator_id).replay_access)


def can_view_clip(clip: Clip, user) -> bool:
    """The clip's access rule, or — for a priced clip — having bought it (or its replay), or a plan with replays."""
    if selectors.can_view_clip(clip, user):
        return True
    if not clip.price or not getattr(user, "is_authenticated", False):
        return False
    return owns(user, clip.event, clip) or perks_for(user, clip.event.creator_id).replay_access


def is_replay(event: Event) -> bool:
    """What plays now is the finished recording (the show is over), not the live stream."""
    recording = selectors.playable_recording(event)
    return recording is not None and recording.status != recording.Status.RECORDING


def can_play(event: Event, user) -> bool:
    """The playback rule: the live stream by `can_watch`, the replay by `can_watch_replay`."""
    return can_watch_replay(event, user) if is_replay(event) else selectors.can_watch(event, user)


def playback_for(event: Event, user) -> dict | None:
    if not can_play(event, user):
        return None
    recording = selectors.playable_recording(event)
    return selectors.playback_urls(event, recording) if recording is not None else None


def replay_for_sale(event: Event, user) -> ReplayOffer | None:
    """The offer to show someone who cannot watch the replay yet (None when they can, or it is not sold)."""
    offer = active_offer(event)
    if offer is None or event.status != Event.Status.PUBLISHED or can_watch_replay(event, user):
        return None
    return offer


# --- pricing (the creator) -------------------------------------------------------------------------------

def _price(raw) -> Decimal | None:
    """The replay's price; nothing (or zero) means the replay is free."""
    value = parse_optional_amount(raw, field="price", maximum=MAX_PRICE)
    return value or None


@transaction.atomic
def set_replay_price(event: Event, price, currency: str = "") -> ReplayOffer | None:
    """A price sells the replay; an empty or zero price stops selling it (access goes back to ticket holders)."""
    value = _price(price)
    currency = normalise_currency(currency or settings.DEFAULT_CURRENCY)
    offer = ReplayOffer.objects.select_for_update().filter(event=event).first()
    if value is None:
        if offer is not None and offer.is_active:
            offer.is_active = False
            offer.save(update_fields=["is_active", "updated_at"])
        return None
    if offer is None:
        return ReplayOffer.objects.create(event=event, price=value, currency=currency)
    offer.price, offer.currency, offer.is_active = value, currency, True
    offer.save(update_fields=["price", "currency", "is_active", "updated_at"])
    return offer


def set_clip_price(clip: Clip, price, currency: str = "") -> Clip:
    value = _price(price)
    clip.price = value
    clip.currency = normalise_currency(currency or settings.DEFAULT_CURRENCY) if value else ""
    clip.save(update_fields=["price", "currency"])
    return clip


# --- selling ---------------------------------------------------------------------------------------------

def _one(quantity) -> None:
    if quantity != 1:
        raise Invalid(_("One at a time."), fields={"quantity": [_("A replay or clip has a quantity of 1.")]})


def replay_offer(item_id, quantity, buyer, options=None) -> Offer:
    event = Event.objects.filter(pk=item_id, status=Event.Status.PUBLISHED).first() \
        if isinstance(item_id, str) else None
    offer = active_offer(event) if event else None
    if offer is None:
        raise NotFound(_("No such replay for sale."))
    _one(quantity)
    if buyer is not None and getattr(buyer, "is_authenticated", False) and can_watch_replay(event, buyer):
        raise Conflict(_("You can already watch this replay."), code="already_owned")
    return Offer(kind=REPLAY_KIND, item_id=event.pk, creator_id=event.creator_id,
                 description=f"Replay: {event.title}"[:255], unit_price=offer.price, currency=offer.currency)


def clip_offer(item_id, quantity, buyer, options=None) -> Offer:
    clip = (Clip.objects.select_related("event").filter(pk=item_id, status=Clip.Status.READY, price__gt=0,
                                                         event__status=Event.Status.PUBLISHED).first()
            if isinstance(item_id, str) else None)
    if clip is None:
        raise NotFound(_("No such clip for sale."))
    _one(quantity)
    if buyer is not None and getattr(buyer, "is_authenticated", False) and can_view_clip(clip, buyer):
        raise Conflict(_("You can already watch this clip."), code="already_owned")
    return Offer(kind=CLIP_KIND, item_id=clip.pk, creator_id=clip.event.creator_id,
                 description=f"Clip: {clip.title}"[:255], unit_price=clip.price, currency=clip.currency)


def on_paid(line: OrderLine) -> None:
    """Inside the payment's transaction: one access per line."""
    order = line.order
    if line.kind == CLIP_KIND:
        clip = Clip.objects.get(pk=line.item_id)
        event_id, clip_id = clip.event_id, clip.pk
    else:
        event_id, clip_id = line.item_id, None
    ContentAccess.objects.get_or_create(order_line=line, defaults={
        "event_id": event_id, "clip_id": clip_id, "user_id": order.buyer_id, "email": order.email})


def on_refunded(line: OrderLine, quantity: int) -> None:
    ContentAccess.objects.filter(order_line=line).update(status=ContentAccess.Status.VOID)


def event_of(line) -> str:
    if line.kind == CLIP_KIND:
        return Clip.objects.filter(pk=line.item_id).values_list("event_id", flat=True).first() or ""
    return line.item_id


def register() -> None:
    for kind, offer in ((REPLAY_KIND, replay_offer), (CLIP_KIND, clip_offer)):
        sellables.register(kind, offer=offer, on_paid=on_paid, on_refunded=on_refunded, event_of=event_of)


def buy(*, kind: str, item_id: str, user, email: str = "") -> Order:
    """Reserve an order of one replay or clip for a signed-in buyer or a guest (by email)."""
    from commerce.services import LineRequest, reserve

    buyer = user if getattr(user, "is_authenticated", False) else None
    return reserve(requests=[LineRequest(kind, item_id, 1)], buyer=buyer, email=email)
