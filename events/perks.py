"""Tier perks that do something: which entitlements a person's tickets give them, and their rules.

- replay: the event's replay (even when it is sold separately), until `days` after the show ends;
- download: a digital product's files, like a buyer of it;
- merch_discount: `percent` off the creator's products while the show runs (doors to end);
- backstage: a flag the door scanner shows next to the check-in result.
Text-only perks (TicketTier.perks) are shown as promises and enforced by nobody.
"""
from datetime import timedelta
from decimal import Decimal

from django.db.models import Q
from django.utils import timezone

from .models import Event, Ticket, TicketTier, TierPerk

Kind = TierPerk.Kind


def _valid_tickets(user, event_filter: Q):
    from .selectors import tickets_of

    return tickets_of(user).filter(event_filter, status=Ticket.Status.VALID)


def perks_of(user, event: Event) -> list[TierPerk]:
    """The entitlements of the tiers of `user`'s valid tickets for `event`."""
    if not getattr(user, "is_authenticated", False):
        return []
    tiers = _valid_tickets(user, Q(event=event)).values("tier_id")
    return list(TierPerk.objects.filter(tier_id__in=tiers).select_related("product"))


def replay_included(user, event: Event, now=None) -> bool:
    """A ticket whose tier includes the replay, inside its window."""
    now = now or timezone.now()
    for perk in perks_of(user, event):
        if perk.kind == Kind.REPLAY and (perk.days is None or now < event.ends_at + timedelta(days=perk.days)):
            return True
    return False


def is_backstage(tier: TicketTier) -> bool:
    return TierPerk.objects.filter(tier=tier, kind=Kind.BACKSTAGE).exists()


def downloadable_products(user) -> set[str]:
    """Digital products unlocked by the tiers of the person's valid tickets."""
    if not getattr(user, "is_authenticated", False):
        return set()
    tiers = _valid_tickets(user, Q()).values("tier_id")
    return set(TierPerk.objects.filter(tier_id__in=tiers, kind=Kind.DOWNLOAD, product__isnull=False)
               .values_list("product_id", flat=True))


def merch_discount(user, creator_id: str, now=None) -> Decimal:
    """The best show-time merch discount (percent) the person's tickets give with this creator right now."""
    if not getattr(user, "is_authenticated", False):
        return Decimal("0")
    now = now or timezone.now()
    running = Q(event__creator_id=creator_id, event__starts_at__lte=now, event__ends_at__gt=now)
    tiers = _valid_tickets(user, running).values("tier_id")
    best = (TierPerk.objects.filter(tier_id__in=tiers, kind=Kind.MERCH_DISCOUNT, percent__isnull=False)
            .order_by("-percent").values_list("percent", flat=True).first())
    return best or Decimal("0")


def describe(perk: TierPerk) -> str:
    if perk.kind == Kind.REPLAY:
        return f"Replay for {perk.days} days after the show" if perk.days else "Replay, no time limit"
    if perk.kind == Kind.DOWNLOAD:
        return f"Download: {perk.product.name}" if perk.product_id else "Download"
    if perk.kind == Kind.MERCH_DISCOUNT:
        return f"{(perk.percent or 0):g}% off merch during the show"
    return "Backstage access"
