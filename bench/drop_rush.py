"""Drop rush: time from a purchase's commit to each of 500 websocket watchers receiving the new count.

The harness starts the production shape as deploy/Procfile runs it (bench/__main__.py's
production_server: microstage.serve --workers 2, debug off, one Celery worker and beat; the kernel spreads
the watchers' connections over the workers, counted in the notes), prepares an event with
a free live stream (bench/chat_fanout.prepare) and a live drop of `--drop-purchases` items, and
runs `--drop-procs` load processes (this module, `watch` mode, aiohttp) that open `--drop-clients`
websockets to /ws/events/<id>/?watch=1 between them. When all are connected, the harness buys the
drop's items one by one through commerce's services (reserve, then sandbox payment, in one
transaction each, `--drop-interval` s apart). The commit time is stamped by the first on-commit
callback of that transaction, i.e. right after COMMIT and before the count is published. Each
watcher records the time it first sees `{"type": "stock", "item": <drop>, "available": n}` for
each n; latency = receipt - commit of the purchase that made the count n, over all deliveries
(same machine clock).

Baseline from the same run: raw Redis PUBLISH to one SUBSCRIBEd client (chat_fanout.redis_baseline).

    python -m bench.drop_rush          # only this benchmark; merges into bench/results.json
    python -m bench                    # everything (calls run() below)
"""
from __future__ import annotations

import argparse
import asyncio
import json
import os
import re
import subprocess
import sys
import time
from pathlib import Path

from .media import cpu_seconds
from .chat_fanout import LATE_WAIT, connections_by_process, percentile, prepare as prepare_event, redis_baseline

BASE_DIR = Path(__file__).resolve().parent.parent


# --- in the harness process (Django set up) ------------------------------------------------------

def prepare(purchases: int) -> dict:
    """A live event watchers may open, a drop of `purchases` items on it, and one buyer per purchase."""
    from datetime import timedelta
    from decimal import Decimal

    from django.contrib.auth.hashers import make_password
    from django.utils import timezone

    from catalog import services as catalog
    from events.services import drops as drop_services
    from events.models import Event
    from microstage.models import User
    from microstage.permissions import SYSTEM

    prepared = prepare_event()
    event = Event.objects.get(pk=prepared["event"])
    product = catalog.create_product(creator=event.creator, name="Bench drop tee", price=Decimal("20.00"),
                                     stock=purchases, actor=SYSTEM)
    drop = drop_services.create_drop(event, product=product, quantity=purchases, per_person_limit=1,
                              starts_at=timezone.now() - timedelta(minutes=1), ends_at=event.ends_at, actor=SYSTEM)
    run = f"{int(time.time())}"
    password = make_password(None)
    buyers = User.objects.bulk_create([
        User(email=f"drop-{run}-{n}@bench.invalid", display_name=f"Drop buyer {n}", password=password,
             date_joined=timezone.now() - timedelta(days=30)) for n in range(purchases)])
    return {**prepared, "drop": drop.pk, "buyers": [u.pk for u in buyers], "stock": purchases}


def purchase(drop_id: str, buyer_id) -> tuple[int, int]:
    """Reserve one item and pay it in the sandbox, in one transaction; (commit time ns, count left)."""
    from django.db import transaction

    from commerce import services as commerce
    from commerce.selectors import availability
    from events.models import Drop
    from events.models import DROP_KIND
    from events.selectors import drop_pools
    from microstage.models import User

    stamp: list[int] = []
    buyer = User.objects.get(pk=buyer_id)
    with transaction.atomic():
        transaction.on_commit(lambda: stamp.append(time.time_ns()))  # first callback: right after COMMIT
        order = commerce.reserve(requests=[commerce.LineRequest(DROP_KIND, drop_id, 1)], buyer=buyer)
        commerce.sandbox_pay(order.pk)
    pools = drop_pools(Drop.objects.get(pk=drop_id))
    return stamp[0], availability(list(pools), pools)


def measure(env: dict, port: int, prepared: dict, args) -> dict:
    from .__main__ import HOST, production_server

    procs: list[subprocess.Popen] = []
    commits: dict[int, int] = {}
    with production_server(dict(env, MICROSTAGE_PRESENCE_THROTTLE_SECONDS="2"), port, args.web_workers):
        try:
            url = f"ws://{HOST}:{port}/ws/events/{prepared['event']}/"
            per = [args.drop_clients // args.drop_procs + (1 if i < args.drop_clients % args.drop_procs else 0)
                   for i in range(args.drop_procs)]
            for n in per:
                procs.append(subprocess.Popen(
                    [sys.executable, "-m", "bench.drop_rush", "watch", url, "--clients", str(n), "--item",
                     prepared["drop"], "--origin", f"http://{HOST}:{port}", "--expect", str(args.drop_purchases)],
                    cwd=BASE_DIR, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True))
            connected = 0
            for proc in procs:  # each prints "ready <n>" once all its sockets are open
                line = proc.stdout.readline()
                if not line.startswith("ready"):
                    raise RuntimeError(f"watcher failed: {line!r} {proc.stderr.read()[-2000:]}")
                connected += int(line.split()[1])
            time.sleep(3.0)  # let the join burst's presence broadcasts settle
            spread = connections_by_process(port)
            web = web_pids(port)
            started, cpu_before = time.monotonic(), cpu_seconds(web)
            for buyer in prepared["buyers"][:args.drop_purchases]:
                committed, left = purchase(prepared["drop"], buyer)
                commits[left] = committed
                time.sleep(args.drop_interval)
            time.sleep(1.0)  # the last frames and their settle checks
            busy, cpu_busy = time.monotonic() - started, cpu_seconds(web) - cpu_before
            idle_started, idle_cpu = time.monotonic(), cpu_seconds(web)
            time.sleep(2.0)  # what the web processes spend with the watchers connected and nothing sold
            idle_rate = (cpu_seconds(web) - idle_cpu) / (time.monotonic() - idle_started)
            web_cpu = cpu_busy - idle_rate * busy
            latencies: list[float] = []
            missing_commit = 0
            for proc in procs:
                out, _ = proc.communicate(input="stop\n", timeout=120)
                for seen in json.loads(out.strip().splitlines()[-1])["seen"]:
                    for available, received in seen:
                        if available in commits:
                            latencies.append((received - commits[available]) / 1e6)
                        else:
                            missing_commit += 1
        finally:
            for proc in procs:
                if proc.poll() is None:
                    proc.kill()
    return {"p50_ms": percentile(latencies, 50), "p99_ms": percentile(latencies, 99),
            "max_ms": max(latencies) if latencies else None, "delivered": len(latencies),
            "expected": connected * len(commits), "connected": connected, "purchases": len(commits),
            "unmatched_frames": missing_commit, "spread": spread, "load": os.getloadavg()[0],
            "web_cpu_s": web_cpu, "idle_cpu_per_s": idle_rate}


def web_pids(port: int) -> list[int]:
    """The web processes holding the watchers' connections (ss -tnp), as connections_by_process counts them."""
    out = subprocess.run(["ss", "-tnpH", "state", "established", f"( sport = :{port} )"], capture_output=True,
                         text=True, check=True).stdout
    return sorted({int(m.group(1)) for line in out.splitlines() if (m := re.search(r"pid=(\d+)", line))})


def run(env: dict, args, free_port) -> dict:
    from django.conf import settings
    from django.test.utils import override_settings

    from .__main__ import figure

    redis_url = settings.CHANNEL_LAYERS["default"]["CONFIG"]["hosts"][0]
    prepared = prepare(args.drop_purchases)
    print(f"[bench] drop rush: {args.drop_clients} watchers, {args.drop_purchases} purchases", flush=True)
    # Purchases are paid in the sandbox, without order emails, whatever the run is configured with.
    with override_settings(PAYMENTS_PROVIDER="sandbox", EMAIL_BACKEND="django.core.mail.backends.dummy.EmailBackend"):
        m = measure(env, free_port(), prepared, args)
    baseline = redis_baseline(redis_url, args.drop_purchases, args.drop_interval)
    setup = (f"{m['connected']} websocket watchers (aiohttp, {args.drop_procs} separate load processes) on "
             f"/ws/events/<id>/?watch=1 of the production shape (deploy/Procfile: microstage.serve --workers "
             f"{args.web_workers}, "
             f"MICROSTAGE_DEBUG=false, one Celery worker and beat, channel layer "
             f"{env.get('MICROSTAGE_CHANNEL_LAYER', 'pubsub (default)')}; connections per web process "
             f"{m['spread']});"
             f" {m['purchases']} purchases of a live drop, one by one {args.drop_interval:g} s apart, each a reserve + "
             f"sandbox payment through commerce services in one transaction in the harness process; latency = "
             f"watcher's receipt of the new count - the purchase's commit (stamped by the transaction's first "
             f"on-commit callback), same machine clock, over all deliveries: {m['delivered']}/{m['expected']} "
             f"delivered, max {m['max_ms'] and round(m['max_ms'], 1)} ms, {m['unmatched_frames']} unmatched frames, "
             f"loadavg {m['load']:.2f}. Baseline: raw Redis PUBLISH -> one SUBSCRIBEd client at the same rate, same "
             f"Redis, same run (p50 {baseline['p50_ms']:.3f} ms, p99 {baseline['p99_ms']:.3f} ms, "
             f"{baseline['count']} messages). {os.cpu_count()} CPUs shared by server, load generators, PostgreSQL, "
             f"Redis and other work on the machine: absolute numbers are noisy.")
    return {
        "drop_rush_p50_ms": figure(m["p50_ms"] or 0, "ms", baseline["p50_ms"],
                                   f"p50 commit-to-watcher latency of a drop's new count. {setup}"),
        "drop_rush_p99_ms": figure(m["p99_ms"] or 0, "ms", baseline["p99_ms"],
                                   f"p99 commit-to-watcher latency of a drop's new count. {setup}"),
        "drop_rush_web_cpu_us_per_frame": figure(
            m["web_cpu_s"] * 1e6 / max(m["delivered"], 1), "us", None,
            f"CPU the web processes spent per delivered frame (user + system, from /proc, all workers), over the "
            f"purchases and 1 s after them, less their idle rate with the watchers connected "
            f"({m['idle_cpu_per_s'] * 1000:.1f} ms of CPU per second, measured for 2 s just after). {setup}"),
        "drop_rush_delivered": figure(m["delivered"], "frames", m["expected"],
                                      f"new counts received; baseline = watchers x purchases, ratio 1 = none lost. "
                                      f"{setup}"),
        "drop_rush_redis_baseline_p50_ms": figure(baseline["p50_ms"], "ms", None,
                                                  f"BASELINE raw Redis publish-to-subscriber p50. {setup}"),
        "drop_rush_redis_baseline_p99_ms": figure(baseline["p99_ms"], "ms", None,
                                                  f"BASELINE raw Redis publish-to-subscriber p99. {setup}"),
    }


def add_arguments(parser) -> None:
    parser.add_argument("--drop-clients", type=int, default=500, help="drop rush watchers (default 500)")
    parser.add_argument("--drop-purchases", type=int, default=50, help="drop rush purchases (default 50)")
    parser.add_argument("--drop-interval", type=float, default=0.2, help="seconds between purchases (0.2)")
    parser.add_argument("--drop-procs", type=int, default=2, help="watcher load processes (default 2)")


# --- load process --------------------------------------------------------------------------------

async def _watch(url: str, clients: int, drop: str, origin: str, expect: int) -> dict:
    import aiohttp

    seen: list[dict[int, int]] = [{} for _ in range(clients)]
    connector = aiohttp.TCPConnector(limit=0)
    async with aiohttp.ClientSession(connector=connector) as session:
        sockets = []
        for start in range(0, clients, 50):  # open in batches: a thundering herd is not what we measure
            sockets.extend(await asyncio.gather(*[
                session.ws_connect(url + "?watch=1", origin=origin, max_msg_size=0, heartbeat=None)
                for _ in range(start, min(clients, start + 50))]))

        async def reader(i, ws):
            async for msg in ws:
                if msg.type != aiohttp.WSMsgType.TEXT:
                    break
                now = time.time_ns()
                frame = json.loads(msg.data)
                if frame.get("type") == "stock" and frame.get("item") == drop:
                    seen[i].setdefault(frame["available"], now)  # the first frame with that count

        tasks = [asyncio.create_task(reader(i, ws)) for i, ws in enumerate(sockets)]
        print(f"ready {len(sockets)}", flush=True)
        await asyncio.get_running_loop().run_in_executor(None, sys.stdin.readline)  # "stop" after the purchases
        last, quiet_since = -1, time.monotonic()
        while time.monotonic() - quiet_since < LATE_WAIT and sum(map(len, seen)) < clients * expect:
            await asyncio.sleep(0.2)
            if sum(map(len, seen)) != last:
                last, quiet_since = sum(map(len, seen)), time.monotonic()
        for ws in sockets:
            await ws.close()
        for task in tasks:
            task.cancel()
    return {"seen": [sorted(s.items()) for s in seen]}


def main() -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.drop_rush", description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="mode")
    watch = sub.add_parser("watch")
    watch.add_argument("url")
    watch.add_argument("--clients", type=int, required=True)
    watch.add_argument("--item", required=True)
    watch.add_argument("--origin", required=True)
    watch.add_argument("--expect", type=int, required=True)
    add_arguments(parser)
    parser.add_argument("--web-workers", type=int, default=2, help="uvicorn worker processes (default 2)")
    parser.add_argument("--output", type=Path, default=Path(__file__).resolve().parent / "results.json")
    args = parser.parse_args()
    if args.mode == "watch":
        print(json.dumps(asyncio.run(_watch(args.url, args.clients, args.item, args.origin, args.expect))),
              flush=True)
        return 0
    from .__main__ import free_port, manage

    os.environ.setdefault("MICROSTAGE_DEBUG", "true")  # the harness only: the server gets production_env
    os.environ.setdefault("MICROSTAGE_PAYMENTS_PROVIDER", "sandbox")
    os.environ.setdefault("MICROSTAGE_EMAIL_URL", "dummymail://")  # no console emails in the harness
    env = dict(os.environ)
    manage(env, "migrate", "--noinput", "-v", "0")
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "microstage.settings")
    import django

    django.setup()
    results = json.loads(args.output.read_text()) if args.output.exists() else {}
    new = run(env, args, free_port)
    results.update(new)
    args.output.write_text(json.dumps(results, indent=2) + "\n")
    for key, value in new.items():
        print(f"{key:34} {value['value']:>10} {value['unit']:6} baseline {value['baseline']} ratio {value['ratio']}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
