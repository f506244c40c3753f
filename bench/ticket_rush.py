"""Ticket rush: many buyers at once for the last tickets of a tier, through POST /api/v1/orders.

The harness (bench/__main__.py) calls `prepare()` before it starts the server — a new published
event with one tier of `stock` tickets and `buyers` distinct users, each with an API token (created
directly in the database) — then runs this module as a separate load process:

    python -m bench.ticket_rush http://127.0.0.1:8123 --tier tier_x --tokens /tmp/tokens.json

Every buyer first opens its own keep-alive connection (GET /api/v1/ping, not measured), waits at
a common start line, then sends exactly one POST /api/v1/orders {"lines": [{"tier": id,
"quantity": 1}]}. The wall time of the rush runs from the start line to the last answer.
Afterwards the harness calls `verify()`, which counts in the database what was really taken.
Prints one JSON object to stdout.
"""
from __future__ import annotations

import argparse
import asyncio
import json
import math
import sys
import time
from collections import Counter
from pathlib import Path
from urllib.parse import urlsplit

MAX_BUYERS = 1000
REQUEST_TIMEOUT = 60.0
RUSH_TIMEOUT = 180.0  # the whole rush, whatever happens


def percentile(sorted_values: list[float], pct: float) -> float | None:
    if not sorted_values:
        return None
    rank = max(1, min(len(sorted_values), math.ceil(pct / 100 * len(sorted_values))))
    return sorted_values[rank - 1]


# --- in the harness process (Django set up) ------------------------------------------------------

def prepare(buyers: int, stock: int, tokens_file: Path) -> dict:
    """A fresh on-sale event with one tier of `stock`, and `buyers` users with API tokens."""
    from datetime import timedelta
    from decimal import Decimal

    from django.conf import settings
    from django.contrib.auth.hashers import make_password
    from django.db import transaction
    from django.utils import timezone
    from rest_framework.authtoken.models import Token

    from events.models import Event, TicketTier
    from microstage.models import Creator, User

    run = f"{int(time.time())}"
    with transaction.atomic():
        creator, _ = Creator.objects.get_or_create(slug="bench-rush", defaults={"name": "Bench Rush"})
        start = timezone.now() + timedelta(days=3)
        event = Event.objects.create(
            creator=creator, title=f"Ticket rush {run}", slug=f"bench-rush-{run}", description="Benchmark event.",
            starts_at=start, ends_at=start + timedelta(hours=2), mode=Event.Mode.IN_PERSON, venue_name="Bench hall",
            venue_capacity=stock * 2, visibility=Event.Visibility.UNLISTED, status=Event.Status.PUBLISHED,
            published_at=timezone.now())
        tier = TicketTier.objects.create(event=event, name="Rush", price=Decimal("10.00"),
                                         currency=settings.DEFAULT_CURRENCY, quantity=stock, max_per_order=1)
        password = make_password(None)  # unusable: these users only ever use their token
        users = User.objects.bulk_create([
            User(email=f"rush-{run}-{n}@bench.invalid", display_name=f"Rush buyer {n}", password=password)
            for n in range(buyers)])
        tokens = Token.objects.bulk_create([Token(user=u, key=Token.generate_key()) for u in users])
    tokens_file.write_text(json.dumps([t.key for t in tokens]))
    return {"event": event.pk, "tier": tier.pk, "stock": stock, "buyers": buyers, "creator": creator.pk}


def verify(tier_id: str, stock: int) -> dict:
    """What the database says was taken from the tier: orders, held and sold units, the pool row."""
    from django.db.models import Q, Sum
    from django.utils import timezone

    from commerce.models import Hold, Inventory, Order, OrderLine

    pool = Inventory.objects.filter(key=f"tier:{tier_id}").first()
    now = timezone.now()
    held = (Hold.objects.filter(inventory=pool, status=Hold.Status.ACTIVE, expires_at__gt=now)
            .aggregate(n=Sum("quantity"))["n"] or 0) if pool else 0
    lines = OrderLine.objects.filter(kind="ticket", item_id=tier_id).exclude(
        order__status__in=[Order.Status.CANCELLED, Order.Status.EXPIRED])
    units = lines.aggregate(n=Sum("quantity"))["n"] or 0
    orders = Order.objects.filter(Q(lines__kind="ticket") & Q(lines__item_id=tier_id)).distinct().count()
    sold = pool.sold if pool else 0
    return {"pool_total": pool.total if pool else None, "pool_sold": sold, "held": held, "taken": sold + held,
            "order_units": units, "orders": orders,
            "exact": bool(pool) and sold + held == stock == units and pool.total == stock}


# --- the load process -------------------------------------------------------------------------

async def rush(base: str, tier: str, tokens: list[str]) -> dict:
    import aiohttp

    loop = asyncio.get_running_loop()
    start_line = asyncio.Event()
    ready = 0
    all_ready = asyncio.Event()
    outcomes: list[tuple[str, float, float]] = []  # (status or status:code, started, ended)
    body = json.dumps({"lines": [{"tier": tier, "quantity": 1}]})
    timeout = aiohttp.ClientTimeout(total=REQUEST_TIMEOUT)

    async def buyer(token: str) -> None:
        nonlocal ready
        headers = {"Authorization": f"Token {token}", "Content-Type": "application/json"}
        # One connection per buyer, opened before the start line, as a browser tab would have.
        connector = aiohttp.TCPConnector(limit=1, force_close=False)
        async with aiohttp.ClientSession(connector=connector, timeout=timeout) as session:
            try:
                async with session.get(f"{base}/api/v1/ping") as resp:
                    await resp.read()
            except (TimeoutError, aiohttp.ClientError):
                pass  # the rush request will record the failure
            ready += 1
            if ready == len(tokens):
                all_ready.set()
            await start_line.wait()
            started = loop.time()
            try:
                async with session.post(f"{base}/api/v1/orders", data=body, headers=headers) as resp:
                    payload = await resp.read()
                    label = str(resp.status)
                    if resp.status != 201:
                        try:
                            label += ":" + str(json.loads(payload).get("code", ""))
                        except (ValueError, AttributeError):
                            label += ":?"
            except (TimeoutError, aiohttp.ClientError) as exc:
                label = type(exc).__name__
            outcomes.append((label, started, loop.time()))

    tasks = [asyncio.create_task(buyer(t)) for t in tokens]
    try:
        await asyncio.wait_for(all_ready.wait(), timeout=60)
    except TimeoutError:
        pass  # go with whoever is ready; the rest join late and it shows in the wall time
    connected = ready
    t0 = loop.time()
    start_line.set()
    done, pending = await asyncio.wait(tasks, timeout=RUSH_TIMEOUT)
    for task in pending:
        task.cancel()
    wall = (max((end for _, _, end in outcomes), default=t0) - t0)
    statuses = Counter(label for label, _, _ in outcomes)
    ok_lat = sorted((end - start) * 1000 for label, start, end in outcomes if label == "201")
    all_lat = sorted((end - start) * 1000 for _, start, end in outcomes)
    created = statuses.get("201", 0)
    return {
        "buyers": len(tokens), "connected_before_start": connected, "answered": len(outcomes),
        "unanswered": len(pending), "statuses": dict(statuses), "created": created,
        "sold_out": statuses.get("409:sold_out", 0), "wall_s": wall,
        "reservations_per_s": created / wall if wall else 0.0,
        "answers_per_s": len(outcomes) / wall if wall else 0.0,
        "p50_ms": percentile(all_lat, 50), "p99_ms": percentile(all_lat, 99),
        "max_ms": all_lat[-1] if all_lat else None,
        "created_p50_ms": percentile(ok_lat, 50), "created_p99_ms": percentile(ok_lat, 99),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.ticket_rush")
    parser.add_argument("base", help="http://127.0.0.1:PORT")
    parser.add_argument("--tier", required=True)
    parser.add_argument("--tokens", type=Path, required=True, help="JSON list of API tokens, one per buyer")
    args = parser.parse_args(argv)
    parts = urlsplit(args.base)
    if parts.scheme != "http" or parts.hostname != "127.0.0.1":
        parser.error("only http://127.0.0.1 is a permitted target")
    tokens = json.loads(args.tokens.read_text())
    if not (1 <= len(tokens) <= MAX_BUYERS):
        parser.error(f"1..{MAX_BUYERS} buyers")
    result = asyncio.run(rush(args.base.rstrip("/"), args.tier, tokens))
    json.dump(result, sys.stdout)
    sys.stdout.write("\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
