"""Writes of the analytics app: page views and visitors, client telemetry, experiments."""
import hashlib
import math
import re
from decimal import Decimal

from django.core.cache import cache
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from groupbuys import services as groupbuys
from groupbuys.models import GroupBuy
from events.models import Drop, Event
from microstage.money import parse_amount
from microstage.errors import Conflict, Invalid, NotFound
from microstage.models import EDIT_ROLES
from microstage.permissions import require_role
from streaming.models import LiveStream
from streaming.selectors import viewer_count

from .models import Experiment, PageView, TelemetrySample, Visitor

# --- tracking


def record_page_view(*, visitor_id: str, page: str, event_id: str = "", creator_id: str = "", item_id: str = "",
                     variants: dict | None = None) -> None:
    """One view of a tracked page by a visitor (created on first sight). Nothing about the browser is
    kept: no IP address, no user agent, no account (linked only at login or purchase)."""
    from . import pageview_buffer

    # Buffered in Redis, written in batches by the analytics.flush_page_views task (no row per view).
    pageview_buffer.buffer(page_view_entry(visitor_id=visitor_id, page=page, event_id=event_id, creator_id=creator_id,
                                           item_id=item_id, variants=variants))


def page_view_entry(*, visitor_id: str, page: str, event_id: str = "", creator_id: str = "", item_id: str = "",
                    variants: dict | None = None) -> str:
    """The buffered record of one view, now (record_page_view pushes it; so does analytics.page_asgi)."""
    from . import pageview_buffer

    variant = _variant_shown(page, event_id, item_id, variants or {})
    return pageview_buffer.entry(visitor_id=visitor_id, page=page, event_id=event_id or "",
                                 creator_id=creator_id or "", variant=variant, at=timezone.now())


def flush_page_views() -> int:
    """Write the buffered page views to the database (the beat task; tests call it before reading)."""
    from . import pageview_buffer

    return pageview_buffer.flush()


def link_visitor(visitor_id: str | None, user) -> bool:
    """Link a visitor to an account (at login or purchase); an existing link is kept."""
    if not visitor_id or user is None or not getattr(user, "pk", None):
        return False
    # The visitor's row may not be written yet (page views are buffered): create it linked.
    Visitor.objects.bulk_create([Visitor(pk=visitor_id)], ignore_conflicts=True)
    return Visitor.objects.filter(pk=visitor_id, user__isnull=True).update(user=user) > 0


def link_paying_buyer(visitor_id: str | None, user, *, paid_since) -> bool:
    """Link the visitor to `user` when an order of theirs was paid since `paid_since` (the paying request)."""
    from commerce.models import Order

    if not visitor_id or not Order.objects.filter(buyer=user, paid_at__gte=paid_since).exists():
        return False
    return link_visitor(visitor_id, user)


# --- telemetry

KINDS = {k.value for k in TelemetrySample.Kind}
MAX_VALUE_MS = 600_000
EVENT_ID_RE = re.compile(r"^evt_[A-Za-z0-9]{8,32}$")
DETAIL_RE = re.compile(r"^[a-z0-9_]{1,64}$")
TELEMETRY_RATE = 60  # samples per client per minute


def clean_telemetry(data) -> dict:
    """The sample, strictly checked; raises Invalid (nothing stored) for anything else."""
    if not isinstance(data, dict):
        raise Invalid(_("Send a JSON object."), code="invalid")
    unknown = set(data) - {"event", "kind", "value", "detail"}
    if unknown:
        raise Invalid(_("Unknown fields."), code="invalid", fields={f: [_("Unknown field.")] for f in sorted(unknown)})
    event_id, kind, value, detail = data.get("event"), data.get("kind"), data.get("value"), data.get("detail", "")
    if not isinstance(event_id, str) or not EVENT_ID_RE.match(event_id):
        raise Invalid(_("Unknown event id."), code="invalid", fields={"event": [_("Not an event id.")]})
    if not Event.objects.filter(pk=event_id).exists():  # samples about nothing would only pollute the numbers
        raise Invalid(_("No such event."), code="invalid", fields={"event": [_("No such event.")]})
    if not isinstance(kind, str) or kind not in KINDS:
        raise Invalid(
            _("Unknown kind."),
            code="invalid",
            fields={"kind": [_("One of %(kinds)s.") % {"kinds": ", ".join(sorted(KINDS))}]},
        )
    if kind == TelemetrySample.Kind.CHECKOUT_ERROR and value is None:
        value = 1
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value) \
            or not 0 <= value <= MAX_VALUE_MS:
        raise Invalid(_("The value is a number of milliseconds from 0 to 600000."), code="invalid",
                      fields={"value": [_("A finite number from 0 to 600000.")]})
    if detail is None:
        detail = ""
    if not isinstance(detail, str) or (detail and not DETAIL_RE.match(detail)):
        raise Invalid(_("The detail is an error code: a-z, 0-9 and _, at most 64."), code="invalid",
                      fields={"detail": [_("An error code.")]})
    if kind == TelemetrySample.Kind.CHECKOUT_ERROR and not detail:
        raise Invalid(_("A checkout error needs its code."), code="invalid", fields={"detail": [_("Required.")]})
    return {"event_id": event_id, "kind": kind, "value": float(value), "detail": detail}


def telemetry_client_key(ip: str) -> str:
    """What the telemetry rate limit counts by: the client's address as the server sees it (an IPv6
    client by its /64, which one host can fill alone) — never a cookie or header the client picks."""
    import ipaddress

    try:
        address = ipaddress.ip_address(ip)
    except ValueError:
        return "ip:unknown"
    if address.version == 6:
        return "ip6:" + str(ipaddress.ip_network(f"{address}/64", strict=False))
    return "ip:" + str(address)


def telemetry_allowed(client_key: str) -> bool:
    """Rate limit per client (the key is a hash, never the IP itself), in the cache."""
    key = "analytics:telemetry:" + hashlib.sha256(client_key.encode()).hexdigest()[:32]
    cache.add(key, 0, 60)
    try:
        return cache.incr(key) <= TELEMETRY_RATE
    except ValueError:  # expired between add and incr
        cache.set(key, 1, 60)
        return True


def record_telemetry(data) -> TelemetrySample:
    return TelemetrySample.objects.create(**clean_telemetry(data))


# --- experiments

RUNNING_KEY = "analytics:experiments:running"
KEY_RE = re.compile(r"^[a-z0-9_]{1,16}$")
MAX_VARIANTS = 5


def _running() -> list[dict]:
    """Running experiments with their target's show (cached; reset when one starts or stops)."""
    found = cache.get(RUNNING_KEY)
    if found is not None:
        return found

    found = []
    for exp in Experiment.objects.filter(status=Experiment.Status.RUNNING).order_by("created_at"):
        model = Drop if exp.target == Experiment.Target.DROP else GroupBuy
        event_id = model.objects.filter(pk=exp.target_id).values_list("event_id", flat=True).first() or ""
        found.append({"id": exp.pk, "target": exp.target, "target_id": exp.target_id, "event_id": event_id,
                      "variants": exp.variants})
    cache.set(RUNNING_KEY, found, 300)
    return found


def _forget_running() -> None:
    cache.delete(RUNNING_KEY)  # now, and again once committed (a reader in between may re-cache the old list)
    transaction.on_commit(lambda: cache.delete(RUNNING_KEY))


def assign(experiment_id: str, visitor_id: str, variants: list[dict]) -> dict:
    """The visitor's variant: sha256(experiment id + visitor id) placed on the cumulative weights."""
    total = sum(int(v["weight"]) for v in variants)
    digest = hashlib.sha256(f"{experiment_id}:{visitor_id}".encode()).digest()
    point = int.from_bytes(digest[:8], "big") % total
    for v in variants:
        point -= int(v["weight"])
        if point < 0:
            return v
    return variants[-1]


def variants_for(visitor_id: str, running: list[dict] | None = None) -> dict:
    """{(target, target_id): {experiment, key, price, event_id}} for every running experiment (`running`: the
    cached list at RUNNING_KEY when the caller read it itself, as analytics.page_asgi does)."""
    out = {}
    for exp in _running() if running is None else running:
        v = assign(exp["id"], visitor_id, exp["variants"])
        out[(exp["target"], exp["target_id"])] = {"experiment": exp["id"], "key": v["key"],
                                                  "price": Decimal(str(v["price"])), "event_id": exp["event_id"]}
    return out


def variant_prices(variants: dict) -> dict:
    """{(target, target_id): price} of a visitor's variants (variants_for): what the selling apps take as
    `variant_prices` (microstage.overrides)."""
    return {key: v["price"] for key, v in variants.items()}


def _variant_shown(page: str, event_id: str, item_id: str, variants: dict) -> str:
    """The variant a page view showed, as "<experiment id>:<key>" (the first experiment that applies)."""
    for (target, target_id), v in variants.items():
        if (page == PageView.Page.GROUP_BUY and target == Experiment.Target.GROUP_BUY and target_id == item_id) \
                or (page in (PageView.Page.EVENT, PageView.Page.WATCH, PageView.Page.ORDER)
                    and event_id and v["event_id"] == event_id):
            return f"{v['experiment']}:{v['key']}"[:40]
    return ""


def _clean_variants(raw) -> list[dict]:
    if not isinstance(raw, list) or not 2 <= len(raw) <= MAX_VARIANTS:
        raise Invalid(
            _("Give from 2 to %(max_variants)s variants.") % {"max_variants": MAX_VARIANTS},
            fields={"variants": [_("2 to 5 variants.")]},
        )
    out, keys = [], set()
    for i, v in enumerate(raw):
        if not isinstance(v, dict):
            raise Invalid(_("Each variant is {key, price, weight}."), fields={f"variants[{i}]": [_("Invalid.")]})
        key = str(v.get("key", "")).strip().lower()
        if not KEY_RE.match(key) or key in keys:
            raise Invalid(_("Variant keys are short and unique (a-z, 0-9, _)."),
                          fields={f"variants[{i}].key": [_("Invalid.")]})
        price = parse_amount(v.get("price"), field=f"variants[{i}].price")
        try:
            weight = int(v.get("weight", 1))
        except (TypeError, ValueError):
            weight = -1
        if not 1 <= weight <= 1000:
            raise Invalid(
                _("Weights are whole numbers from 1 to 1000."), fields={f"variants[{i}].weight": [_("1 to 1000.")]}
            )
        keys.add(key)
        out.append({"key": key, "price": str(price), "weight": weight})
    return out


def create_experiment(*, creator, actor, name: str, target: str, target_id: str, variants) -> Experiment:
    """Start an A/B test of one of the creator's drops or group-buys (one running test per item)."""
    require_role(actor, creator, EDIT_ROLES)

    name = (name or "").strip()
    if not name or len(name) > 120:
        raise Invalid(_("Name the experiment (at most 120 characters)."), fields={"name": [_("Required.")]})
    if target == Experiment.Target.DROP:
        item = Drop.objects.filter(pk=target_id, event__creator=creator).first()
    elif target == Experiment.Target.GROUP_BUY:
        item = GroupBuy.objects.filter(pk=target_id, creator=creator).select_related("product", "variant").first()
    else:
        raise Invalid(_("Test a drop or a group-buy."), fields={"target": [_("drop or group_buy.")]})
    if item is None:
        raise NotFound(_("No such drop or group-buy of yours."))
    cleaned = _clean_variants(variants)
    if target == Experiment.Target.GROUP_BUY:
        top = groupbuys.list_price(item)
        if any(Decimal(v["price"]) > top for v in cleaned):
            # Joining authorises the offer price: never more than the list price.
            raise Invalid(
                _("A group-buy offer price is at most %(top)s.") % {"top": top},
                fields={"variants": [_("At most %(top)s.") % {"top": top}]},
            )
    with transaction.atomic():
        if Experiment.objects.filter(target=target, target_id=target_id, status=Experiment.Status.RUNNING).exists():
            raise Conflict(_("This item already has a running experiment."), code="already_running")
        exp = Experiment.objects.create(creator=creator, name=name, target=target, target_id=target_id,
                                        variants=cleaned)
        _forget_running()
    return exp


def stop_experiment(experiment: Experiment, *, actor) -> Experiment:
    require_role(actor, experiment.creator_id, EDIT_ROLES)
    if experiment.status != Experiment.Status.STOPPED:
        Experiment.objects.filter(pk=experiment.pk).update(status=Experiment.Status.STOPPED)
        experiment.status = Experiment.Status.STOPPED
        _forget_running()
    return experiment


# --- viewer samples --------------------------------------------------------------------------

def sample_viewers() -> int:
    """Record the current viewer count of every live stream (presence in Redis) as one sample each;
    the event's average viewers is the mean of these samples."""


    live = list(LiveStream.objects.filter(status=LiveStream.Status.LIVE).values_list("event_id", flat=True))
    TelemetrySample.objects.bulk_create([
        TelemetrySample(event_id=event_id, kind=TelemetrySample.Kind.VIEWERS, value=viewer_count(event_id))
        for event_id in live])
    return len(live)
