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
import os
import subprocess
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

def prepare(buyers: int, stock: int, tokens_file: Path, rounds: int = 1) -> dict:
    """`rounds` fresh on-sale events with one tier of `stock` each, and `buyers` fresh users with API tokens
    for each of them (one round per tier). Each round's buyers are new: buyers reused across rounds would
    carry their unpaid orders of earlier rounds and meet the open-order cap (`limit_exceeded`) instead
    of `sold_out`. Round 0's tokens go to `tokens_file`, round r's to `round_tokens(tokens_file, r)`."""
    from datetime import timedelta
    from decimal import Decimal

    from django.conf import settings
    from django.contrib.auth.hashers import make_password
    from django.db import transaction
    from django.utils import timezone
    from rest_framework.authtoken.models import Token

    from events.models import Event, TicketTier
    from microstage.models import Creator, User

    run = f"{int(time.time())}{os.urandom(3).hex()}"
    with transaction.atomic():
        creator, _ = Creator.objects.get_or_create(slug="bench-rush", defaults={"name": "Bench Rush"})
        start = timezone.now() + timedelta(days=3)
        tiers = []
        for r in range(rounds):
            event = Event.objects.create(
                creator=creator, title=f"Ticket rush {run}-{r}", slug=f"bench-rush-{run}-{r}",
                description="Benchmark event.", starts_at=start, ends_at=start + timedelta(hours=2),
                mode=Event.Mode.IN_PERSON, venue_name="Bench hall", venue_capacity=stock * 2,
                visibility=Event.Visibility.UNLISTED, status=Event.Status.PUBLISHED, published_at=timezone.now())
            tiers.append(TicketTier.objects.create(event=event, name="Rush", price=Decimal("10.00"),
                                                   currency=settings.DEFAULT_CURRENCY, quantity=stock,
                                                   max_per_order=1))
        password = make_password(None)  # unusable: these users only ever use their token
        files = []
        for r in range(rounds):
            users = User.objects.bulk_create([
                User(email=f"rush-{run}-{r}-{n}@bench.invalid", display_name=f"Rush buyer {r}.{n}",
                     password=password) for n in range(buyers)])
            tokens = Token.objects.bulk_create([Token(user=u, key=Token.generate_key()) for u in users])
            files.append(round_tokens(tokens_file, r))
            files[-1].write_text(json.dumps([t.key for t in tokens]))
    return {"event": tiers[0].event_id, "tier": tiers[0].pk, "tiers": [t.pk for t in tiers], "stock": stock,
            "buyers": buyers, "creator": creator.pk, "tokens_files": files}


def round_tokens(tokens_file: Path, r: int) -> Path:
    """Where round `r`'s tokens are written (round 0: `tokens_file` itself)."""
    return tokens_file if r == 0 else tokens_file.with_name(f"{tokens_file.stem}.{r}{tokens_file.suffix}")


def verify(tier_id: str, stock: int) -> dict:
    """What the database says was taken from the tier: orders, held and sold units, the pool row."""
    from django.db.models import Q, Sum
    from django.utils import timezone

    from commerce.models import Order, OrderLine
    from commerce.models.inventory import Hold, Inventory

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

async def side_load(session, url: str, concurrency: int, loop, start_line, stop) -> list[tuple[int, float, float]]:
    """Closed-loop GETs of `url` on `concurrency` connections from the start line until `stop` is set."""
    import aiohttp

    done: list[tuple[int, float, float]] = []

    async def worker() -> None:
        await start_line.wait()
        while not stop.is_set():
            started = loop.time()
            try:
                async with session.get(url) as resp:
                    await resp.read()
                    status = resp.status
            except (TimeoutError, aiohttp.ClientError) as exc:
                status = type(exc).__name__
            done.append((status, started, loop.time()))

    await asyncio.gather(*(worker() for _ in range(concurrency)))
    return done


async def rush(base: str, tier: str, tokens: list[str], in_flight: int = 0, side: str = "",
               side_concurrency: int = 16) -> dict:
    """All buyers at once (at most `in_flight` requests on the wire when > 0); optionally a closed-loop
    side load (e.g. GET /healthz, or the ping baseline) measured over the same window."""
    import aiohttp

    loop = asyncio.get_running_loop()
    start_line = asyncio.Event()
    stop_side = asyncio.Event()
    ready = 0
    all_ready = asyncio.Event()
    gate = asyncio.Semaphore(in_flight) if in_flight > 0 else None
    outcomes: list[tuple[str, float, float]] = []  # (status or status:code, started, ended)
    body = json.dumps({"lines": [{"tier": tier, "quantity": 1}]})
    timeout = aiohttp.ClientTimeout(total=REQUEST_TIMEOUT)

    async def post(session, headers) -> str:
        async with session.post(f"{base}/api/v1/orders", data=body, headers=headers) as resp:
            payload = await resp.read()
            label = str(resp.status)
            if resp.status != 201:
                try:
                    label += ":" + str(json.loads(payload).get("code", ""))
                except (ValueError, AttributeError):
                    label += ":?"
            return label

    async def send(session, headers) -> None:
        started = loop.time()
        try:
            try:
                label = await post(session, headers)
            except (aiohttp.ServerDisconnectedError, aiohttp.ClientOSError):
                # The server closed this buyer's idle keep-alive connection while it waited behind the
                # in-flight gate (uvicorn closes idle ones after 5 s): nothing was answered, so send it
                # again on a new connection, as a browser does. The clock keeps its first start.
                label = await post(session, headers)
        except (TimeoutError, aiohttp.ClientError) as exc:
            label = type(exc).__name__
        outcomes.append((label, started, loop.time()))

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
            if gate is None:
                await send(session, headers)
            else:
                async with gate:
                    await send(session, headers)

    side_task = None
    side_session = None
    if side:
        side_session = aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=side_concurrency),
                                             timeout=aiohttp.ClientTimeout(total=REQUEST_TIMEOUT))
        for _ in range(side_concurrency):  # open the side connections before the start line too
            try:
                async with side_session.get(f"{base}/api/v1/ping") as resp:
                    await resp.read()
            except (TimeoutError, aiohttp.ClientError):
                pass
        side_task = asyncio.create_task(side_load(side_session, f"{base}{side}", side_concurrency, loop,
                                                  start_line, stop_side))
    tasks = [asyncio.create_task(buyer(t)) for t in tokens]
    try:
        await asyncio.wait_for(all_ready.wait(), timeout=60)
    except TimeoutError:
        pass  # go with whoever is ready; the rest join late and it shows in the wall time
    connected = ready
    spread = _spread(base)  # the buyers' (and side load's) connections per web process, at the start line
    t0 = loop.time()
    start_line.set()
    done, pending = await asyncio.wait(tasks, timeout=RUSH_TIMEOUT)
    t_end = loop.time()
    for task in pending:
        task.cancel()
    side_result = None
    if side_task is not None:
        stop_side.set()
        side_done = await side_task
        await side_session.close()
        window = max((end for _, _, end in outcomes), default=t_end) - t0
        counted = [(st, s0, e) for st, s0, e in side_done if e <= t0 + window]
        ok = sorted((e - s0) * 1000 for st, s0, e in counted if st == 200)
        side_result = {"path": side, "concurrency": side_concurrency, "window_s": window, "ok": len(ok),
                       "errors": dict(Counter(str(st) for st, _, _ in counted if st != 200)),
                       "requests_per_s": len(ok) / window if window else 0.0,
                       "p50_ms": percentile(ok, 50), "p99_ms": percentile(ok, 99)}
    wall = (max((end for _, _, end in outcomes), default=t0) - t0)
    statuses = Counter(label for label, _, _ in outcomes)
    ok_lat = sorted((end - start) * 1000 for label, start, end in outcomes if label == "201")
    all_lat = sorted((end - start) * 1000 for _, start, end in outcomes)
    created = statuses.get("201", 0)
    last_created = max((end for label, _, end in outcomes if label == "201"), default=t0) - t0
    return {
        "buyers": len(tokens), "in_flight": in_flight, "connected_before_start": connected,
        "connections_by_process": spread,
        "answered": len(outcomes), "unanswered": len(pending), "statuses": dict(statuses), "created": created,
        "sold_out": statuses.get("409:sold_out", 0), "wall_s": wall, "sold_out_s": last_created,
        "reservations_per_s": created / wall if wall else 0.0,
        "answers_per_s": len(outcomes) / wall if wall else 0.0,
        "p50_ms": percentile(all_lat, 50), "p99_ms": percentile(all_lat, 99),
        "max_ms": all_lat[-1] if all_lat else None,
        "created_p50_ms": percentile(ok_lat, 50), "created_p99_ms": percentile(ok_lat, 99),
        "side": side_result,
    }


def _spread(base: str) -> list[int]:
    """Established connections per server process on the server's port, largest first ([] without ss)."""
    from .chat_fanout import connections_by_process

    try:
        return connections_by_process(urlsplit(base).port)
    except (OSError, subprocess.CalledProcessError):
        return []


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.ticket_rush")
    parser.add_argument("base", help="http://127.0.0.1:PORT")
    parser.add_argument("--tier", required=True)
    parser.add_argument("--tokens", type=Path, required=True, help="JSON list of API tokens, one per buyer")
    parser.add_argument("--in-flight", type=int, default=0, help="at most this many requests at once (0: all)")
    parser.add_argument("--side", default="", help="a path load-tested closed-loop during the rush, e.g. /healthz")
    parser.add_argument("--side-concurrency", type=int, default=16)
    args = parser.parse_args(argv)
    parts = urlsplit(args.base)
    if parts.scheme != "http" or parts.hostname != "127.0.0.1":
        parser.error("only http://127.0.0.1 is a permitted target")
    tokens = json.loads(args.tokens.read_text())
    if not (1 <= len(tokens) <= MAX_BUYERS):
        parser.error(f"1..{MAX_BUYERS} buyers")
    if args.side and not args.side.startswith("/"):
        parser.error("--side is a path")
    if not (0 <= args.in_flight <= MAX_BUYERS and 1 <= args.side_concurrency <= 64):
        parser.error("--in-flight 0..1000, --side-concurrency 1..64")
    result = asyncio.run(rush(args.base.rstrip("/"), args.tier, tokens, args.in_flight, args.side,
                              args.side_concurrency))
    json.dump(result, sys.stdout)
    sys.stdout.write("\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
