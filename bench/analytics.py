"""Analytics benchmark: one event with 100,000 page views and 10,000 paid orders, its metrics and its page.

Data is made with bulk_create in batches, in a scratch creator that is deleted afterwards: ~30,000
visitors (10,000 of them linked to the buyers' accounts), 100,000 page views of the event spread over the
week before the show, 10,000 paid orders (a ticket line each; every third one a drop line too) with
converted holds and tickets, 2,000 abandoned orders with released holds, a live stream and chat messages.

Measured (median of 5 runs each, after one warm-up): `analytics.selectors.event_metrics(event)` and the
rendered owner page /dashboard/analytics/<event id>/ (django.test.Client, full middleware stack). Baseline
from the same run: a plain COUNT(*) of the event's page views, and the public event landing page rendered
by the same client. Standalone: `python -m bench.analytics [views] [orders]`.
"""
from __future__ import annotations

import json
import os
import random
import statistics
import sys
import time
from contextlib import contextmanager
from datetime import timedelta
from decimal import Decimal
from pathlib import Path

RESULTS = Path(__file__).resolve().parent / "results.json"
BATCH = 5000
RUNS = 5


def _setup() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "microstage.settings")
    os.environ.setdefault("MICROSTAGE_DEBUG", "true")
    import django

    django.setup()


@contextmanager
def _explicit_times(*models):
    """Let bulk_create keep the timestamps we give (auto_now_add would stamp them all 'now')."""
    fields = [f for m in models for f in m._meta.concrete_fields if getattr(f, "auto_now_add", False)]
    for f in fields:
        f.auto_now_add = False
    try:
        yield
    finally:
        for f in fields:
            f.auto_now_add = True


def _make(n_views: int, n_orders: int, tag: str) -> dict:
    from django.utils import timezone

    from analytics.models import PageView, Visitor
    from commerce.models import Order, OrderLine
    from catalog.models import Product
    from commerce.models.inventory import Hold, Inventory
    from events.models import Drop, Event, Ticket, TicketTier
    from events.models import DROP_KIND, TICKET_KIND
    from microstage.ids import new_id
    from microstage.models import Creator, Role, TeamMembership, User
    from streaming.models import ChatMessage, LiveStream

    rng = random.Random(7)
    now = timezone.now()
    starts, ends = now - timedelta(hours=2), now - timedelta(minutes=10)
    creator = Creator.objects.create(name=f"Bench analytics {tag}", slug=f"bench-an-{tag}")
    owner = User.objects.create(email=f"an-owner-{tag}@bench.invalid", display_name="Bench owner", password="!")
    TeamMembership.objects.create(creator=creator, user=owner, role=Role.OWNER)
    event = Event.objects.create(creator=creator, title=f"Bench show {tag}", slug=f"bench-an-show-{tag}",
                                 starts_at=starts, ends_at=ends, timezone="Europe/Berlin", mode=Event.Mode.HYBRID,
                                 venue_name="Bench room", status=Event.Status.PUBLISHED,
                                 published_at=starts - timedelta(days=8))
    tier = TicketTier.objects.create(event=event, name="Standard", price=Decimal("20.00"), currency="EUR",
                                     quantity=n_orders * 2)
    product = Product.objects.create(creator=creator, name="Bench tee", price=Decimal("25.00"), currency="EUR")
    drops = [Drop.objects.create(event=event, product=product, quantity=n_orders // 6, price=Decimal("25.00"),
                                 starts_at=starts + timedelta(minutes=20 + 30 * i),
                                 ends_at=starts + timedelta(minutes=40 + 30 * i)) for i in range(2)]
    stream = LiveStream.objects.create(event=event, peak_viewers=1800)
    inv_tier = Inventory.objects.create(key=f"tier:{tier.pk}", total=tier.quantity, sold=n_orders)
    inv_drops = [Inventory.objects.create(key=f"drop:{d.pk}", total=d.quantity, sold=0) for d in drops]

    buyers = User.objects.bulk_create([User(email=f"an-{tag}-{i}@bench.invalid", display_name=f"Bench {i}",
                                            password="!") for i in range(n_orders)], batch_size=BATCH)
    n_visitors = max(n_orders, int(n_views * 0.3))
    visitors = [Visitor(id=f"v_{tag}{i:08d}bench{'x' * 8}",
                        user=buyers[i] if i < n_orders else None) for i in range(n_visitors)]
    with _explicit_times(Visitor, PageView, Order, Ticket, ChatMessage):
        for v in visitors:
            v.first_seen = starts - timedelta(days=7)
        Visitor.objects.bulk_create(visitors, batch_size=BATCH)
        window = (starts + timedelta(minutes=30) - (starts - timedelta(days=7))).total_seconds()
        first_view = {}
        for start in range(0, n_views, BATCH):
            batch = []
            for i in range(start, min(n_views, start + BATCH)):
                v = i % n_visitors if i < n_visitors else rng.randrange(n_visitors)
                at = starts - timedelta(days=7) + timedelta(seconds=rng.random() * window)
                if v < n_orders:
                    first_view[v] = min(first_view.get(v, at), at)
                batch.append(PageView(visitor_id=visitors[v].id, page=rng.choice(["event", "event", "watch"]),
                                      event_id=event.pk, creator_id=creator.pk, created_at=at))
            PageView.objects.bulk_create(batch, batch_size=BATCH)

        orders, lines, holds, tickets = [], [], [], []
        for i, buyer in enumerate(buyers):
            paid = max(first_view.get(i, starts), starts - timedelta(days=6)) + timedelta(
                seconds=rng.expovariate(1 / 3600))
            paid = min(paid, ends - timedelta(seconds=1))
            with_drop = i % 3 == 0
            total = Decimal("45.00") if with_drop else Decimal("20.00")
            orders.append(Order(creator=creator, buyer=buyer, email=buyer.email, currency="EUR",
                                status=Order.Status.PAID, subtotal=total, total=total,
                                expires_at=paid + timedelta(minutes=15), created_at=paid - timedelta(seconds=40),
                                paid_at=paid))
        for j in range(n_orders // 5):  # abandoned checkouts: holds released, never paid
            at = starts - timedelta(days=rng.random() * 6)
            orders.append(Order(creator=creator, email=f"an-{tag}-gone{j}@bench.invalid", currency="EUR",
                                status=Order.Status.EXPIRED, subtotal=Decimal("20.00"), total=Decimal("20.00"),
                                expires_at=at + timedelta(minutes=15), created_at=at))
        Order.objects.bulk_create(orders, batch_size=BATCH)
        for i, o in enumerate(orders):
            paid = o.status == Order.Status.PAID
            line = OrderLine(order=o, kind=TICKET_KIND, item_id=tier.pk, description="Standard ticket",
                             unit_price=Decimal("20.00"), list_price=Decimal("20.00"), quantity=1,
                             total=Decimal("20.00"))
            lines.append((line, inv_tier, paid))
            if paid and i % 3 == 0:
                drop = drops[i % 2]
                lines.append((OrderLine(order=o, kind=DROP_KIND, item_id=drop.pk, description="Bench tee (drop)",
                                        unit_price=Decimal("25.00"), list_price=Decimal("25.00"), quantity=1,
                                        total=Decimal("25.00"), position=1), inv_drops[i % 2], paid))
        OrderLine.objects.bulk_create([x[0] for x in lines], batch_size=BATCH)
        for line, inv, paid in lines:
            holds.append(Hold(order_id=line.order_id, line=line, inventory=inv, quantity=1,
                              expires_at=now - timedelta(days=1),
                              status=Hold.Status.CONVERTED if paid else Hold.Status.RELEASED))
            if paid and line.kind == TICKET_KIND:
                tickets.append(Ticket(event=event, tier=tier, order_line=line, holder_id=line.order.buyer_id,
                                      holder_email=line.order.email, created_at=line.order.paid_at))
        Hold.objects.bulk_create(holds, batch_size=BATCH)
        Ticket.objects.bulk_create(tickets, batch_size=BATCH)
        for k, inv in enumerate(inv_drops):
            inv.sold = sum(1 for ln, i2, p in lines if p and i2 is inv)
            Inventory.objects.filter(pk=inv.pk).update(sold=min(inv.sold, inv.total))
            del k
        chat = [ChatMessage(event=event, user=buyers[rng.randrange(n_orders)], text=f"bench {c}",
                            sent_at=starts + timedelta(seconds=rng.random() * (ends - starts).total_seconds()))
                for c in range(n_orders // 2)]
        ChatMessage.objects.bulk_create(chat, batch_size=BATCH)
    del new_id, stream
    return {"creator": creator, "owner": owner, "event": event, "buyers": [b.pk for b in buyers],
            "inventories": [inv_tier.pk, *[i.pk for i in inv_drops]], "visitor_prefix": f"v_{tag}"}


def _cleanup(made: dict) -> None:
    from analytics.models import PageView, Visitor
    from commerce.models import Order, OrderLine
    from catalog.models import Product
    from payouts.models import LedgerEntry
    from commerce.models.inventory import Hold, Inventory
    from events.models import Ticket
    from microstage.models import User

    creator, event = made["creator"], made["event"]
    PageView.objects.filter(event_id=event.pk).delete()
    Visitor.objects.filter(id__startswith=made["visitor_prefix"]).delete()
    if made.get("client_visitor"):  # the landing page baseline is a tracked page: its client got a visitor
        Visitor.objects.filter(id=made["client_visitor"], views__isnull=True).delete()
    Ticket.objects.filter(event=event).delete()
    Hold.objects.filter(order__creator=creator).delete()
    OrderLine.objects.filter(order__creator=creator).delete()
    LedgerEntry.objects.filter(creator=creator).delete()
    Order.objects.filter(creator=creator).delete()
    event.delete()  # tiers, drops, stream, chat
    Product.objects.filter(creator=creator).delete()
    Inventory.objects.filter(pk__in=made["inventories"]).delete()
    creator.delete()
    User.objects.filter(pk__in=[*made["buyers"], made["owner"].pk]).delete()


def _median_ms(fn, runs: int = RUNS) -> tuple[float, list[float]]:
    fn()  # warm-up: connection, template loading, plans
    times = []
    for _ in range(runs):
        t0 = time.perf_counter()
        fn()
        times.append((time.perf_counter() - t0) * 1000)
    return statistics.median(times), times


def measure(made: dict) -> dict:
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext

    from analytics import selectors
    from analytics.models import PageView

    event = made["event"]
    client = Client(HTTP_HOST="127.0.0.1")  # an allowed host in the dev settings, as bench/__main__.py
    client.force_login(made["owner"])
    page = f"/dashboard/analytics/{event.pk}/"
    landing = event.get_absolute_url()

    def render_page():
        resp = client.get(page)
        assert resp.status_code == 200, resp.status_code

    def render_landing():
        resp = client.get(landing)
        assert resp.status_code == 200, resp.status_code

    count_ms, count_runs = _median_ms(lambda: PageView.objects.filter(event_id=event.pk).count())
    metrics_ms, metrics_runs = _median_ms(lambda: selectors.event_metrics(event))
    landing_ms, landing_runs = _median_ms(render_landing)
    page_ms, page_runs = _median_ms(render_page)
    with CaptureQueriesContext(connection) as q:
        metrics = selectors.event_metrics(event)
    made["client_visitor"] = client.cookies["ms_vid"].value if "ms_vid" in client.cookies else None
    slowest = sorted(q.captured_queries, key=lambda x: -float(x["time"]))[:3]
    return {"count_ms": count_ms, "metrics_ms": metrics_ms, "landing_ms": landing_ms, "page_ms": page_ms,
            "runs": {"count": count_runs, "metrics": metrics_runs, "landing": landing_runs, "page": page_runs},
            "queries": len(q.captured_queries), "metrics": metrics,
            "slowest": [(s["time"], s["sql"][:160]) for s in slowest]}


def run(n_views: int = 100_000, n_orders: int = 10_000) -> dict:
    _setup()
    from django.conf import settings
    from django.db import connection

    tag = str(int(time.time()))[-7:]
    t0 = time.perf_counter()
    made = _make(n_views, n_orders, tag)
    with connection.cursor() as cur:  # fresh statistics, as autovacuum would have them on a live table
        cur.execute("ANALYZE analytics_pageview; ANALYZE analytics_visitor; ANALYZE commerce_order; "
                    "ANALYZE commerce_orderline; ANALYZE commerce_hold; ANALYZE events_ticket; "
                    "ANALYZE streaming_chatmessage")
    setup_s = time.perf_counter() - t0
    try:
        r = measure(made)
    finally:
        _cleanup(made)
    m = r["metrics"]
    db = settings.DATABASES["default"]
    fmt = lambda xs: ", ".join(f"{x:.0f}" for x in xs)  # noqa: E731
    conditions = (f"In-process, one Python process, database {db.get('HOST') or 'local'}:{db.get('PORT') or ''}/"
                  f"{db.get('NAME')}, {os.cpu_count()} CPUs shared with other work (loadavg "
                  f"{os.getloadavg()[0]:.2f}): absolute numbers are noisy, compare ratios within one run. Data "
                  f"({n_views:,} page views by {max(n_orders, int(n_views * 0.3)):,} visitors, {n_orders:,} paid "
                  f"orders + {n_orders // 5:,} abandoned, {n_orders // 2:,} chat messages) made by bulk_create in "
                  f"{setup_s:.0f} s (not measured), ANALYZEd, deleted afterwards. Median of {RUNS} runs after "
                  f"one warm-up.")
    seen = (f"event_metrics saw page_views={m.get('page_views')}, unique_visitors={m.get('unique_visitors')}, "
            f"orders={m.get('orders')}, revenue={m.get('revenue')} (page views include the {RUNS + 1} tracked GETs "
            f"of the landing-page baseline); {r['queries']} SQL queries, the slowest "
            f"{', '.join(t for t, _sql in r['slowest'])} s.")
    return {
        "analytics_event_metrics_ms": {
            "value": round(r["metrics_ms"], 1), "unit": "ms", "baseline": round(r["count_ms"], 1),
            "ratio": round(r["metrics_ms"] / r["count_ms"], 2) if r["count_ms"] else None,
            "notes": (f"analytics.selectors.event_metrics(event) for one event with {n_views:,} page views and "
                      f"{n_orders:,} paid orders (runs: {fmt(r['runs']['metrics'])} ms). BASELINE: "
                      f"PageView.objects.filter(event_id=…).count() on the same data, same run (runs: "
                      f"{fmt(r['runs']['count'])} ms). {seen} {conditions}")},
        "analytics_event_page_ms": {
            "value": round(r["page_ms"], 1), "unit": "ms", "baseline": round(r["landing_ms"], 1),
            "ratio": round(r["page_ms"] / r["landing_ms"], 2) if r["landing_ms"] else None,
            "notes": (f"GET /dashboard/analytics/<event id>/ as the owner, rendered through the full middleware "
                      f"stack by django.test.Client (runs: {fmt(r['runs']['page'])} ms). BASELINE: GET of the "
                      f"same event's public landing page by the same client, same run (runs: "
                      f"{fmt(r['runs']['landing'])} ms). Target: well under 1,000 ms. {conditions}")},
    }


def main() -> int:
    args = [int(a) for a in sys.argv[1:3]]
    results = run(*args)
    existing = json.loads(RESULTS.read_text()) if RESULTS.exists() else {}
    existing.update(results)
    RESULTS.write_text(json.dumps(existing, indent=2) + "\n")
    for k, v in results.items():
        print(f"{k}: {v['value']} {v['unit']} (baseline {v['baseline']}, ratio {v['ratio']})\n  {v['notes']}\n")
    print(f"written: {RESULTS}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
