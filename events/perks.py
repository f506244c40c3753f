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
from django.utils.translation import gettext as _, ngettext

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
        if not perk.days:
            return _("Replay, no time limit")
        return ngettext("Replay for %(days)s day after the show", "Replay for %(days)s days after the show",
                        perk.days) % {"days": perk.days}
    if perk.kind == Kind.DOWNLOAD:
        return _("Download: %(product)s") % {"product": perk.product.name} if perk.product_id else _("Download")
    if perk.kind == Kind.MERCH_DISCOUNT:
        return _("%(percent)s%% off merch during the show") % {"percent": f"{(perk.percent or 0):g}"}
    return _("Backstage access")


# --- writes --------------------------------------------------------------------------------------

MAX_REPLAY_DAYS = 3650


def _clean_spec(tier: TicketTier, spec) -> TierPerk:
    from catalog.models import Product
    from microstage.errors import Invalid

    if not isinstance(spec, dict) or spec.get("kind") not in Kind.values:
        raise Invalid(_("Each entitlement needs a kind: replay, download, merch_discount or backstage."),
                      fields={"entitlements": [_("Unknown kind.")]})
    kind = spec["kind"]
    perk = TierPerk(tier=tier, kind=kind)
    if kind == Kind.REPLAY and spec.get("days") not in (None, ""):
        try:
            days = int(spec["days"])
        except (TypeError, ValueError):
            days = -1
        if not 1 <= days <= MAX_REPLAY_DAYS:
            raise Invalid(
                _("Replay days are from 1 to %(max_replay_days)s.") % {"max_replay_days": MAX_REPLAY_DAYS},
                fields={
                    "entitlements": [
                        _("days: 1 to %(max_replay_days)s, or none for no end.") % {"max_replay_days": MAX_REPLAY_DAYS}
                    ]
                },
            )
        perk.days = days
    if kind == Kind.DOWNLOAD:
        product_id = spec.get("product")
        product = (Product.objects.filter(pk=product_id, creator_id=tier.event.creator_id,
                                          kind=Product.Kind.DIGITAL).first() if isinstance(product_id, str) else None)
        if product is None:
            raise Invalid(_("A download needs one of your digital products."),
                          fields={"entitlements": [_("product: one of the creator's digital products.")]})
        perk.product = product
    if kind == Kind.MERCH_DISCOUNT:
        try:
            percent = Decimal(str(spec.get("percent")))
        except ArithmeticError:
            percent = Decimal("-1")
        if not percent.is_finite() or not Decimal("0") < percent <= Decimal("100") \
                or percent != percent.quantize(Decimal("0.01")):
            raise Invalid(_("A merch discount is a percent above 0 and at most 100."),
                          fields={"entitlements": [_("percent: above 0, at most 100.")]})
        perk.percent = percent
    return perk


def set_entitlements(tier: TicketTier, specs: list | None) -> list[TierPerk]:
    """Replace the tier's entitlements (one per kind). Call inside the tier's transaction."""
    from django.db import transaction

    from microstage.errors import Invalid

    specs = list(specs or [])
    perks = [_clean_spec(tier, spec) for spec in specs]
    if len({p.kind for p in perks}) != len(perks):
        raise Invalid(_("One entitlement of each kind per tier."), fields={"entitlements": [_("A kind is repeated.")]})
    with transaction.atomic():
        TierPerk.objects.filter(tier=tier).delete()
        TierPerk.objects.bulk_create(perks)
    return perks


def entitlements_json(tier: TicketTier) -> list[dict]:
    return [{"kind": p.kind, "days": p.days, "product": p.product_id, "percent": str(p.percent) if p.percent
             is not None else None, "label": describe(p)} for p in tier.entitlements.all()]


def create_tier(event: Event, *, actor, entitlements=None, **data) -> TicketTier:
    from django.db import transaction

    from .services.events import add_tier

    with transaction.atomic():
        tier = add_tier(event, actor=actor, **data)
        set_entitlements(tier, entitlements)
    return tier


def update_tier(tier: TicketTier, *, actor, entitlements=None, **data) -> TicketTier:
    from django.db import transaction

    from .services.events import update_tier as update

    with transaction.atomic():
        tier = update(tier, actor=actor, **data)
        set_entitlements(tier, entitlements)
    return tier


# --- wiring: downloads through the ticket's order line ----------------------------------------------

def ticket_download_product(line):
    """A ticket line's digital product (its tier's download perk), for commerce's signed downloads."""
    perk = (TierPerk.objects.select_related("product").filter(tier_id=line.item_id, kind=Kind.DOWNLOAD,
                                                               product__isnull=False).first())
    return perk.product if perk else None


def register() -> None:
    from catalog.services import register_price_adjuster

    register_price_adjuster(merch_discount)
