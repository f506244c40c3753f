"""Reads for analytics: tracking, the metrics a creator reads, client telemetry and experiments."""
import math
from datetime import timedelta
from decimal import ROUND_HALF_UP, Decimal

from django.conf import settings
from django.contrib.auth import get_user_model
from django.db import connection
from django.db.models import (Avg, Case, Count, DateTimeField, Exists, F, FloatField, Func, Min, OuterRef, Q, Sum,
                              Value, When)
from django.db.models.functions import Coalesce
from django.utils import timezone

from groupbuys.services import KIND as GROUP_BUY_KIND
from commerce.models import Order, OrderLine
from groupbuys.models import GroupBuy, GroupBuyParticipant
from payouts.models import Tip
from events.models import Drop, Event, Ticket, TicketTier
from events.models import DROP_KIND, TICKET_KIND
from memberships.models import Membership
from memberships.selectors import mrr_at
from streaming.models import ChatMessage, LiveStream, Recording

from .models import PageView, TelemetrySample, Visitor

# --- metrics
# The numbers a creator reads after a show (event_metrics) and over a period (creator_metrics).
# Every figure is one aggregate query (or a handful), filtered on indexed columns (event_id and
# created_at for views; the event's tiers/drops/group-buys for order lines; creator and paid_at
# for orders), so an event with 100,000 views and 10,000 orders answers in well under a second.
#
# Definitions (the tests pin each one with exact numbers):
# - an event's orders: orders with a line for one of its ticket tiers, drops or group-buys, or a tip
#   given during it. "holds" = every such order created; "orders" = those paid and still standing
#   (paid or partially refunded; a fully refunded order no longer counts).
# - revenue: Σ(total − refunded_total) over paid, partially refunded and refunded orders, in the
#   event's (creator's main) currency.
# - conversion latency: one sample per standing order whose buyer has a linked visitor that viewed
#   the event (any tracked page with its event_id) at or before paid_at: paid_at − that first view.
#   Median and p90 are PostgreSQL's percentile_cont (linear interpolation); null without samples.
# - live minutes: Σ live-ingest recordings' duration (duration_seconds, else finished_at − created_at,
#   else now − created_at while still recording) ÷ 60.
# - drop sell-through: first sale → the sale that sold the last unit (units net of refunds); null
#   while not sold out.
# - attendance: a checked-in ticket; a person is the ticket's holder email (case-insensitive); a
#   member is a person whose account has a membership of the creator in good standing.

def event_orders(event):
    """Every order of the event (any status)."""

    lines = OrderLine.objects.filter(
        Q(kind=TICKET_KIND, item_id__in=TicketTier.objects.filter(event_id=event.pk).values("pk"))
        | Q(kind=DROP_KIND, item_id__in=Drop.objects.filter(event_id=event.pk).values("pk"))
        | Q(kind=GROUP_BUY_KIND, item_id__in=GroupBuy.objects.filter(event_id=event.pk).values("pk"))
    ).values("order_id")
    tips = Tip.objects.filter(event_id=event.pk).values("order_id")
    return Order.objects.filter(Q(pk__in=lines) | Q(pk__in=tips)).order_by()


class _DateBin(Func):
    """PostgreSQL date_bin(stride, source, origin): buckets aligned on `origin`."""

    function = "date_bin"
    output_field = DateTimeField()


def _epoch(expression) -> Func:
    return Func(expression, template="EXTRACT(EPOCH FROM %(expressions)s)::double precision",
                output_field=FloatField())


CENT = Decimal("0.01")
BUCKET_DURING_SHOW = timedelta(minutes=5)
BUCKET_OTHERWISE = timedelta(hours=1)
# Upper bounds of the conversion-latency histogram, in seconds (the last bucket is open).
LATENCY_BUCKETS = [(60, "< 1 min"), (5 * 60, "1–5 min"), (15 * 60, "5–15 min"), (60 * 60, "15–60 min"),
                   (6 * 3600, "1–6 h"), (24 * 3600, "6–24 h"), (7 * 86400, "1–7 days"), (None, "> 7 days")]


def _money(value) -> Decimal:
    return (value or Decimal("0")).quantize(CENT, rounding=ROUND_HALF_UP)


def _rate(part: int, whole: int) -> float | None:
    return round(part / whole, 4) if whole else None


def _seconds(value) -> float | None:
    return None if value is None else round(float(value), 3)


def _standing():

    return (Order.Status.PAID, Order.Status.PARTIALLY_REFUNDED)


def _revenue_by_currency(orders) -> dict[str, Decimal]:

    rows = (orders.filter(status__in=Order.SETTLED).values("currency")
            .annotate(net=Sum(F("total") - F("refunded_total"))).order_by())
    return {r["currency"]: _money(r["net"]) for r in rows}


def _latency(orders, event) -> dict:
    """One SQL statement: each buyer's first view of the event (one pass over its views, grouped),
    joined to the standing orders; percentiles and histogram over the samples."""

    order_sql, order_params = (orders.filter(status__in=_standing(), buyer__isnull=False, paid_at__isnull=False)
                               .values_list("pk", "buyer_id", "paid_at").query.sql_with_params())
    buckets, lower = [], 0
    for upper, _label in LATENCY_BUCKETS:
        buckets.append(f"COUNT(*) FILTER (WHERE latency >= {lower:d}"
                       + ("" if upper is None else f" AND latency < {upper:d}") + ")")
        lower = upper
    sql = f"""
        WITH o AS (SELECT * FROM ({order_sql}) AS paid (id, buyer_id, paid_at)),
        fv AS (
            SELECT v.user_id, MIN(pv.created_at) AS first_at
            FROM {PageView._meta.db_table} pv JOIN {Visitor._meta.db_table} v ON v.id = pv.visitor_id
            WHERE pv.event_id = %s AND v.user_id IN (SELECT buyer_id FROM o)
            GROUP BY v.user_id
        ), s AS (
            SELECT EXTRACT(EPOCH FROM (o.paid_at - fv.first_at))::double precision AS latency
            FROM o JOIN fv ON fv.user_id = o.buyer_id WHERE fv.first_at <= o.paid_at
        )
        SELECT COUNT(*), percentile_cont(0.5) WITHIN GROUP (ORDER BY latency),
               percentile_cont(0.9) WITHIN GROUP (ORDER BY latency), {", ".join(buckets)}
        FROM s
    """  # noqa: S608 (table names from model metadata, bucket bounds are constants; values are parameters)
    with connection.cursor() as cur:
        cur.execute(sql, [*order_params, event.pk])
        samples, median, p90, *counts = cur.fetchone()
    histogram = [{"label": label, "count": n} for (_u, label), n in zip(LATENCY_BUCKETS, counts, strict=True)]
    return {"median": _seconds(median), "p90": _seconds(p90), "samples": samples,
            "histogram": histogram if samples else []}


def _live_seconds(event, now) -> float:

    duration = Coalesce(F("duration_seconds"),
                        _epoch(Coalesce(F("finished_at"), Value(now, output_field=DateTimeField())) - F("created_at")))
    total = (Recording.objects.filter(stream__event_id=event.pk, source=Recording.Source.LIVE)
             .aggregate(s=Sum(duration))["s"])
    return float(total or 0)


def _over_time(queryset, field: str, event, value) -> list[dict]:
    """`value` summed per 5-minute bucket while the show runs and per hour otherwise (aligned on its start)."""
    origin = Value(event.starts_at, output_field=DateTimeField())
    during = Q(**{f"{field}__gte": event.starts_at, f"{field}__lt": event.ends_at})
    bucket = Case(When(during, then=_DateBin(Value(BUCKET_DURING_SHOW), F(field), origin)),
                  default=_DateBin(Value(BUCKET_OTHERWISE), F(field), origin), output_field=DateTimeField())
    rows = (queryset.filter(**{f"{field}__isnull": False}).annotate(bucket=bucket).values("bucket")
            .annotate(value=value, count=Count("pk")).order_by("bucket"))
    out = []
    for r in rows:
        size = BUCKET_DURING_SHOW if event.starts_at <= r["bucket"] < event.ends_at else BUCKET_OTHERWISE
        out.append({"at": r["bucket"], "minutes": int(size.total_seconds() // 60),
                    "during_show": size == BUCKET_DURING_SHOW, "value": r["value"], "count": r["count"]})
    return out


def _drops(event) -> list[dict]:

    drops = list(Drop.objects.filter(event_id=event.pk).select_related("product").order_by("starts_at", "pk"))
    # One row per paid line of the event's drops; bounded by the drops' stock, not by traffic.
    lines = (OrderLine.objects.filter(kind=DROP_KIND, item_id__in=[d.pk for d in drops],
                                      order__status__in=_standing(), order__paid_at__isnull=False)
             .annotate(units=F("quantity") - F("refunded_quantity")).filter(units__gt=0)
             .values_list("item_id", "order__paid_at", "units").order_by("order__paid_at", "pk"))
    sales: dict[str, list] = {d.pk: [] for d in drops}
    for item_id, paid_at, units in lines:
        sales[item_id].append((paid_at, units))
    out = []
    for d in drops:
        sold, sold_out_at = 0, None
        for paid_at, units in sales[d.pk]:
            sold += units
            if sold_out_at is None and sold >= d.quantity:
                sold_out_at = paid_at
        first = sales[d.pk][0][0] if sales[d.pk] else None
        out.append({"id": d.pk, "name": d.product.name, "quantity": d.quantity, "sold": sold,
                    "first_sale_at": first, "sold_out_at": sold_out_at,
                    "sell_through_seconds": _seconds((sold_out_at - first).total_seconds()) if sold_out_at else None})
    return out


def _group_buys(event) -> list[dict]:

    rows = (GroupBuy.objects.filter(event_id=event.pk)
            .annotate(n_participants=Count("participants", filter=~Q(participants__status__in=[
                GroupBuyParticipant.Status.CANCELLED, GroupBuyParticipant.Status.PENDING])))
            .order_by("deadline", "pk"))
    return [{"id": g.pk, "title": str(g), "committed_quantity": g.committed_quantity, "status": g.status,
             "outcome": g.outcome,
             "participants": g.n_participants, "max_quantity": g.max_quantity, "final_price": g.final_price,
             "deadline": g.deadline} for g in rows]


def _event_currency(event, revenue: dict) -> str:

    tier_currency = TicketTier.objects.filter(event_id=event.pk).values_list("currency", flat=True).first()
    if tier_currency:
        return tier_currency
    if revenue:
        return max(revenue, key=lambda c: revenue[c])
    return settings.DEFAULT_CURRENCY


def _average_viewers(event) -> float | None:
    """Mean of the per-minute viewer samples taken while the event was live (None before any)."""
    value = (TelemetrySample.objects.filter(event_id=event.pk, kind=TelemetrySample.Kind.VIEWERS)
             .aggregate(avg=Avg("value"))["avg"])
    return round(value, 1) if value is not None else None


def event_metrics(event, now=None) -> dict:
    """The API.md analytics of one event, plus `funnel`, `revenue_over_time`, `chat_over_time`,
    `revenue_by_currency`, and the latency's sample count and histogram. Money is Decimal."""


    now = now or timezone.now()
    views = PageView.objects.filter(event_id=event.pk)
    view_counts = views.aggregate(page_views=Count("pk"), unique_visitors=Count("visitor_id", distinct=True))
    orders = event_orders(event)
    counts = orders.aggregate(holds=Count("pk"), orders=Count("pk", filter=Q(status__in=_standing())))
    by_currency = _revenue_by_currency(orders)
    currency = _event_currency(event, by_currency)
    revenue = by_currency.get(currency, _money(None))
    live_minutes = round(_live_seconds(event, now) / 60, 2)
    stream = LiveStream.objects.filter(event_id=event.pk).values("peak_viewers").first()
    chat = ChatMessage.objects.filter(event_id=event.pk, deleted_at__isnull=True)

    revenue_rows = _over_time(orders.filter(status__in=Order.SETTLED, currency=currency), "paid_at", event,
                              Sum(F("total") - F("refunded_total")))
    return {
        "page_views": view_counts["page_views"],
        "unique_visitors": view_counts["unique_visitors"],
        "orders": counts["orders"],
        "tickets_sold": Ticket.objects.filter(event_id=event.pk, status=Ticket.Status.VALID).count(),
        "revenue": revenue,
        "currency": currency,
        "revenue_by_currency": by_currency,
        "conversion_latency_seconds": _latency(orders, event),
        "live_minutes": live_minutes,
        "revenue_per_live_minute": _money(revenue / Decimal(str(live_minutes))) if live_minutes else None,
        "peak_viewers": stream["peak_viewers"] if stream else 0,
        "average_viewers": _average_viewers(event),
        "chat_messages": chat.count(),
        "drops": _drops(event),
        "group_buys": _group_buys(event),
        "funnel": {"page_views": view_counts["page_views"], "holds": counts["holds"], "orders": counts["orders"]},
        "revenue_over_time": [{**r, "revenue": _money(r.pop("value")), "orders": r.pop("count")}
                              for r in revenue_rows],
        "chat_over_time": [{"at": r["at"], "minutes": r["minutes"], "during_show": r["during_show"],
                            "messages": r["count"]} for r in _over_time(chat, "sent_at", event, Count("pk"))],
    }


# metrics of a creator over a period

def _attendance_sql(creator_id: str, since, until) -> tuple[str, list]:


    sql = f"""
        WITH att AS (
            SELECT lower(t.holder_email) AS person, t.event_id
            FROM {Ticket._meta.db_table} t JOIN {Event._meta.db_table} e ON e.id = t.event_id
            WHERE e.creator_id = %s AND t.checked_in_at IS NOT NULL
              AND t.checked_in_at >= %s AND t.checked_in_at <= %s
        ), per AS (
            SELECT person, COUNT(DISTINCT event_id) AS n FROM att GROUP BY person
        ), members AS (
            SELECT DISTINCT lower(u.email) AS person
            FROM {Membership._meta.db_table} m JOIN {get_user_model()._meta.db_table} u ON u.id = m.user_id
            WHERE m.creator_id = %s AND m.status = ANY(%s)
        )
        SELECT COUNT(*),
               COUNT(*) FILTER (WHERE per.n >= 2),
               COUNT(*) FILTER (WHERE members.person IS NOT NULL),
               COUNT(*) FILTER (WHERE members.person IS NOT NULL AND per.n >= 2)
        FROM per LEFT JOIN members ON members.person = per.person
    """  # noqa: S608 (table names from model metadata; values are parameters)
    return sql, [creator_id, since, until, creator_id, [str(s) for s in Membership.GOOD_STANDING]]


def _month_key(value) -> str:
    return f"{value.year:04d}-{value.month:02d}"


def _next_month(year: int, month: int) -> tuple[int, int]:
    return (year + 1, 1) if month == 12 else (year, month + 1)


def _cohorts(creator_id: str, since, now) -> list[dict]:
    """By month of first attendance (ever, in the site's timezone) for cohorts starting in the window:
    size and, for each later month up to now, how many of them attended again that month."""

    tz = timezone.get_current_timezone_name()
    sql = f"""
        WITH att AS (
            SELECT DISTINCT lower(t.holder_email) AS person,
                   date_trunc('month', t.checked_in_at AT TIME ZONE %s) AS m
            FROM {Ticket._meta.db_table} t JOIN {Event._meta.db_table} e ON e.id = t.event_id
            WHERE e.creator_id = %s AND t.checked_in_at IS NOT NULL AND t.checked_in_at <= %s
        ), first AS (
            SELECT person, MIN(m) AS fm FROM att GROUP BY person
        )
        SELECT f.fm, a.m, COUNT(*) FROM first f JOIN att a ON a.person = f.person
        WHERE f.fm >= date_trunc('month', %s AT TIME ZONE %s)
        GROUP BY f.fm, a.m ORDER BY f.fm, a.m
    """  # noqa: S608 (table names from model metadata; values are parameters)
    with connection.cursor() as cur:
        cur.execute(sql, [tz, creator_id, now, since, tz])
        rows = cur.fetchall()
    local_now = timezone.localtime(now)
    last = (local_now.year, local_now.month)
    cohorts: dict[str, dict] = {}
    for fm, m, n in rows:
        c = cohorts.setdefault(_month_key(fm), {"month": _month_key(fm), "size": 0, "counts": {}})
        if (m.year, m.month) == (fm.year, fm.month):
            c["size"] = n
        else:
            c["counts"][_month_key(m)] = n
    out = []
    for key in sorted(cohorts):
        c = cohorts[key]
        ym = _next_month(int(key[:4]), int(key[5:]))
        returning = []
        while ym <= last:
            month = f"{ym[0]:04d}-{ym[1]:02d}"
            returning.append({"month": month, "attendees": c["counts"].get(month, 0)})
            ym = _next_month(*ym)
        out.append({"month": key, "size": c["size"], "returning": [r["attendees"] for r in returning],
                    "later_months": returning})
    return out


def _fulfilment_cost(creator, since, now) -> dict:
    """Σ fulfilment costs ÷ orders with any cost, for group-buy orders and for single purchases."""

    rows = (Order.objects.filter(creator_id=creator.pk, status__in=Order.SETTLED, paid_at__gte=since,
                                 paid_at__lte=now, fulfilment_costs__isnull=False)
            .annotate(group_buy=Exists(GroupBuyParticipant.objects.filter(order_id=OuterRef("pk"))))
            .values("group_buy").annotate(cost=Sum("fulfilment_costs__amount"), n=Count("pk", distinct=True))
            .order_by())
    out = {"group_buy": None, "single": None}
    for r in rows:
        out["group_buy" if r["group_buy"] else "single"] = _money(r["cost"] / r["n"]) if r["n"] else None
    return out


def creator_metrics(creator, days: int = 90, now=None) -> dict:
    """The API.md analytics of a creator over the last `days` days, plus `currency`,
    `revenue_by_currency`, `mrr` (per currency, from memberships.selectors) and `days`."""

    now = now or timezone.now()
    since = now - timedelta(days=days)
    orders = Order.objects.filter(creator_id=creator.pk, paid_at__gte=since, paid_at__lte=now).order_by()
    by_currency = _revenue_by_currency(orders)
    order_count = orders.filter(status__in=_standing()).count()
    currency = (max(by_currency, key=lambda c: by_currency[c]) if by_currency else settings.DEFAULT_CURRENCY)
    with connection.cursor() as cur:
        cur.execute(*_attendance_sql(creator.pk, since, now))
        attendees, repeaters, members, member_repeaters = cur.fetchone()
    member_count = (Membership.objects.filter(creator_id=creator.pk, status__in=Membership.GOOD_STANDING)
                    .values("user_id").distinct().count())
    return {
        "days": days,
        "since": since,
        "revenue": by_currency.get(currency, _money(None)),
        "currency": currency,
        "revenue_by_currency": by_currency,
        "orders": order_count,
        "attendees": attendees,
        "repeat_attendee_rate": _rate(repeaters, attendees),
        "member_count": member_count,
        "attending_members": members,
        "member_repeat_rate": _rate(member_repeaters, members),
        "non_member_repeat_rate": _rate(repeaters - member_repeaters, attendees - members),
        "cohorts": _cohorts(creator.pk, since, now),
        "fulfilment_cost_per_order": _fulfilment_cost(creator, since, now),
        "mrr": mrr_at(creator.pk, now),
    }


# --- tracking
# Page views are recorded by analytics.middleware (services.record_page_view); the metrics above read them.

def visitor_has_personal_data(visitor_id: str) -> bool:
    """Whether a visitor is linked to an account (the only personal link analytics ever keeps)."""

    return Visitor.objects.filter(pk=visitor_id, user__isnull=False).exists()


# --- telemetry

TELEMETRY_TIMINGS = ("player_startup_ms", "rebuffer_ms", "checkout_latency_ms")


def telemetry_summary(event_id: str) -> dict:
    """Per kind of timing: count, median and p90 (PostgreSQL percentile_cont, linear interpolation;
    None without samples), and the checkout errors counted per code, most frequent first."""
    table = "analytics_telemetrysample"
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT kind, count(*), percentile_cont(0.5) WITHIN GROUP (ORDER BY value), "  # noqa: S608
            f"percentile_cont(0.9) WITHIN GROUP (ORDER BY value) FROM {table} "
            f"WHERE event_id = %s AND kind <> 'checkout_error' GROUP BY kind", [event_id])
        rows = {kind: (n, median, p90) for kind, n, median, p90 in cursor.fetchall()}
        cursor.execute(f"SELECT detail, count(*) FROM {table} WHERE event_id = %s AND kind = 'checkout_error' "  # noqa: S608
                       f"GROUP BY detail ORDER BY count(*) DESC, detail", [event_id])
        errors = [{"code": code, "count": n} for code, n in cursor.fetchall()]
    timings = {}
    for kind in TELEMETRY_TIMINGS:
        n, median, p90 = rows.get(kind, (0, None, None))
        timings[kind] = {"count": n, "median": median, "p90": p90}
    return {"event_id": event_id, **timings, "checkout_errors": errors,
            "checkout_error_count": sum(e["count"] for e in errors)}


# --- experiments

WILSON_Z = 1.96


def wilson_interval(successes: int, n: int, z: float = WILSON_Z) -> tuple[float, float] | None:
    """The Wilson score interval of a proportion (95% by default); None without a sample."""

    if n <= 0:
        return None
    p = successes / n
    denominator = 1 + z * z / n
    centre = (p + z * z / (2 * n)) / denominator
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / denominator
    return max(0.0, centre - half), min(1.0, centre + half)


def experiment_results(experiment) -> list[dict]:
    """Per variant: visitors (distinct visitors shown it: the sample size), conversions (of those, the
    ones whose linked account has a standing paid order of the tested item made after their first view
    of the variant), conversion rate with its 95% Wilson interval, revenue (net of refunds, each order
    once) and revenue per visitor."""



    kind = "drop" if experiment.target == "drop" else "group_buy"
    labels = {f"{experiment.pk}:{v['key']}": v for v in experiment.variants}
    first_view = {}  # label -> {visitor id: first view}
    for row in (PageView.objects.filter(variant__in=list(labels)).values("variant", "visitor_id")
                .annotate(first=Min("created_at"))):
        first_view.setdefault(row["variant"], {})[row["visitor_id"]] = row["first"]
    visitor_ids = {vid for views in first_view.values() for vid in views}
    user_of = dict(Visitor.objects.filter(pk__in=visitor_ids, user__isnull=False).values_list("pk", "user_id"))
    lines = (OrderLine.objects.filter(kind=kind, item_id=experiment.target_id,
                                      order__buyer_id__in=set(user_of.values()),
                                      order__status__in=[Order.Status.PAID, Order.Status.PARTIALLY_REFUNDED])
             .values("order_id", "order__buyer_id", "order__created_at", "unit_price", "quantity", "refunded_quantity"))
    orders_of: dict = {}
    for line in lines:
        orders_of.setdefault(line["order__buyer_id"], []).append(line)
    results = []
    for label, variant in labels.items():
        views = first_view.get(label, {})
        converted, counted, revenue = 0, set(), Decimal("0.00")
        for vid, first in views.items():
            bought = [x for x in orders_of.get(user_of.get(vid), []) if x["order__created_at"] >= first]
            if bought:
                converted += 1
            for x in bought:
                if x["order_id"] not in counted:
                    counted.add(x["order_id"])
                    revenue += x["unit_price"] * (x["quantity"] - x["refunded_quantity"])
        n = len(views)
        interval = wilson_interval(converted, n)
        results.append({
            "key": variant["key"], "price": Decimal(str(variant["price"])), "weight": variant["weight"],
            "visitors": n, "sample_size": n, "conversions": converted,
            "conversion_rate": converted / n if n else None,
            "ci_low": interval[0] if interval else None, "ci_high": interval[1] if interval else None,
            "revenue": revenue,
            "revenue_per_visitor": (revenue / n).quantize(Decimal("0.01"), rounding=ROUND_HALF_UP) if n else None,
        })
    return results


def event_promo_sales(event) -> list[dict]:
    """Each promo or partner code that sold this event's tickets: orders, tickets, revenue, discount given."""
    from memberships.promos import sales_by_code

    tier_ids = list(event.tiers.values_list("pk", flat=True))
    return [r for r in sales_by_code(event.creator_id, item_ids=tier_ids) if r["orders"]]
