"""Chat fan-out: delivery latency of one chat message to many websocket clients, per channel layer.

For each layer (channels_redis RedisChannelLayer "core", RedisPubSubChannelLayer "pubsub") the
harness starts the production shape as deploy/Procfile runs it (bench/__main__.py's
production_server: microstage.serve --workers 2, debug off, one Celery worker and beat) with
MICROSTAGE_CHANNEL_LAYER set, then runs separate load processes (this module, `receive` mode,
aiohttp) that open `--clients` websockets to /ws/events/<id>/?watch=1 between them. When all
are connected, a sender (the event's owner, by API token, in its own load process) sends
`--messages` chat frames `{"type": "chat", "text": "bench:<seq>:<time_ns>"}` every `--interval`
seconds. Each receiver records now - time_ns when the
message arrives (late ones too: it waits until it has them all, or 10 s pass with nothing new):
the latency through the whole path (websocket in, consumer, service writes the row, layer
group_send on commit, every web process's relay, websocket out). All processes share one clock
(same machine). The clients connect to the one port the workers listen on, each on a socket of its
own, and the kernel spreads the connections over them, as in production; how many landed in each
worker (ss -tnp) is in the notes.

The baseline, measured in the same run: raw Redis PUBLISH to one SUBSCRIBEd client (redis.asyncio,
same Redis server, same message rate) - what any delivery through Redis costs at least.

    python -m bench.chat_fanout               # only this benchmark; merges into bench/results.json
    python -m bench                           # everything (calls run() below)
"""
from __future__ import annotations

import argparse
import asyncio
import json
import math
import os
import re
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

LAYERS = ("core", "pubsub")
LATE_WAIT = 10.0  # seconds without a new delivery before a receiver gives up on the rest


def percentile(values: list[float], pct: float) -> float | None:
    if not values:
        return None
    values = sorted(values)
    rank = max(1, min(len(values), math.ceil(pct / 100 * len(values))))
    return values[rank - 1]


# --- in the harness process (Django set up) ------------------------------------------------------

def prepare() -> dict:
    """A published event with a free stream (anyone may read its chat) and an owner with a token."""
    from datetime import timedelta

    from django.utils import timezone
    from rest_framework.authtoken.models import Token

    from events.models import Event
    from microstage.models import Creator, Role, TeamMembership, User
    from streaming.models import LiveStream

    run = f"{int(time.time())}"
    creator, _ = Creator.objects.get_or_create(slug="bench-chat", defaults={"name": "Bench Chat"})
    start = timezone.now() - timedelta(minutes=5)
    event = Event.objects.create(
        creator=creator, title=f"Chat fan-out {run}", slug=f"bench-chat-{run}", description="Benchmark event.",
        starts_at=start, ends_at=start + timedelta(hours=2), mode=Event.Mode.ONLINE,
        visibility=Event.Visibility.UNLISTED, status=Event.Status.PUBLISHED, published_at=timezone.now())
    LiveStream.objects.create(event=event, is_free=True, status=LiveStream.Status.LIVE)
    owner = User.objects.create_user(email=f"chat-{run}@bench.invalid", display_name="Bench host")
    TeamMembership.objects.create(creator=creator, user=owner, role=Role.OWNER)
    return {"event": event.pk, "token": Token.objects.create(user=owner).key}


def redis_baseline(redis_url: str, messages: int, interval: float) -> dict:
    return asyncio.run(_redis_baseline(redis_url, messages, interval))


async def _redis_baseline(redis_url: str, messages: int, interval: float) -> dict:
    import redis.asyncio as aioredis

    channel = f"ms-bench-baseline-{os.getpid()}"
    sub_client, pub_client = aioredis.Redis.from_url(redis_url), aioredis.Redis.from_url(redis_url)
    pubsub = sub_client.pubsub()
    await pubsub.subscribe(channel)
    await pubsub.get_message(timeout=1.0)  # the subscribe confirmation
    latencies: list[float] = []

    async def listen():
        while len(latencies) < messages:
            msg = await pubsub.get_message(ignore_subscribe_messages=True, timeout=5.0)
            if msg is None:
                return
            sent = int(msg["data"].split(b":")[1])
            latencies.append((time.time_ns() - sent) / 1e6)

    listener = asyncio.create_task(listen())
    for seq in range(messages):
        await pub_client.publish(channel, f"{seq}:{time.time_ns()}")
        await asyncio.sleep(interval)
    await asyncio.wait_for(listener, 10)
    await pubsub.unsubscribe(channel)
    await pubsub.aclose()
    await sub_client.aclose()
    await pub_client.aclose()
    return {"p50_ms": percentile(latencies, 50), "p99_ms": percentile(latencies, 99), "count": len(latencies)}


def redis_calls(redis_url: str) -> int:
    """Commands the Redis server has executed so far (INFO commandstats), all clients together."""
    import redis

    client = redis.Redis.from_url(redis_url)
    try:
        return sum(v["calls"] for v in client.info("commandstats").values())
    finally:
        client.close()


def connections_by_process(port: int) -> list[int]:
    """How many established connections to `port` each server process holds (ss -tnp), largest first."""
    out = subprocess.run(["ss", "-tnpH", "state", "established", f"( sport = :{port} )"], capture_output=True,
                         text=True, check=True).stdout
    counts = Counter(m.group(1) for line in out.splitlines() if (m := re.search(r"pid=(\d+)", line)))
    return sorted(counts.values(), reverse=True)


def measure_layer(layer: str, env: dict, port: int, prepared: dict, args, redis_url: str) -> dict:
    """Start the production shape with `layer`, connect the clients, send, collect latencies; stop it."""
    from .__main__ import HOST, production_server

    server_env = dict(env, MICROSTAGE_CHANNEL_LAYER=layer, MICROSTAGE_CHAT_RATE_LIMIT="1000000/10",
                      MICROSTAGE_PRESENCE_THROTTLE_SECONDS="2")
    procs: list[subprocess.Popen] = []
    with production_server(server_env, port, args.web_workers) as server:
        try:
            url = f"ws://{HOST}:{port}/ws/events/{prepared['event']}/"
            per = [args.chat_clients // args.chat_procs + (1 if i < args.chat_clients % args.chat_procs else 0)
                   for i in range(args.chat_procs)]
            for n in per:
                procs.append(subprocess.Popen(
                    [sys.executable, "-m", "bench.chat_fanout", "receive", url, "--clients", str(n),
                     "--messages", str(args.chat_messages), "--origin", f"http://{HOST}:{port}"],
                    cwd=Path(__file__).resolve().parent.parent, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                    stderr=subprocess.PIPE, text=True))
            for proc in procs:  # each prints "ready <n>" once all its sockets are open
                line = proc.stdout.readline()
                if not line.startswith("ready"):
                    raise RuntimeError(f"receiver failed: {line!r} {proc.stderr.read()[-2000:]}")
            time.sleep(3.0)  # let the join burst's presence broadcasts settle
            spread = connections_by_process(port)
            calls_before = redis_calls(redis_url)
            sender = subprocess.run(
                [sys.executable, "-m", "bench.chat_fanout", "send", url + f"?token={prepared['token']}",
                 "--messages", str(args.chat_messages), "--interval", str(args.chat_interval),
                 "--origin", f"http://{HOST}:{port}"],
                cwd=Path(__file__).resolve().parent.parent, capture_output=True, text=True,
                timeout=args.chat_messages * args.chat_interval + 120)
            if sender.returncode:
                raise RuntimeError(f"sender failed: {sender.stderr[-2000:]}")
            sent = json.loads(sender.stdout)
            redis_ops = redis_calls(redis_url) - calls_before
            latencies: list[float] = []
            for proc in procs:
                out, err = proc.communicate(input="stop\n", timeout=120)
                result = json.loads(out.strip().splitlines()[-1])
                latencies.extend(result["latencies_ms"])
            log_text = Path(server.log.name).read_text(errors="replace")
        finally:
            for proc in procs:
                if proc.poll() is None:
                    proc.kill()
    expected = args.chat_clients * args.chat_messages
    return {"p50_ms": percentile(latencies, 50), "p99_ms": percentile(latencies, 99),
            "max_ms": max(latencies) if latencies else None, "delivered": len(latencies), "expected": expected,
            "sent": sent, "over_capacity_logs": log_text.count("over capacity"), "spread": spread,
            "redis_ops_per_message": redis_ops / args.chat_messages, "load": os.getloadavg()[0]}


def run(env: dict, args, free_port) -> dict:
    """Both layers, alternating for --chat-rounds rounds (the machine is shared: alternation spreads
    its noise over both), and the Redis baseline; returns results.json entries. Each figure is the
    median over the rounds of that round's percentile; every round's figures are in the notes."""
    import statistics

    from django.conf import settings

    from .__main__ import figure

    redis_url = settings.CHANNEL_LAYERS["default"]["CONFIG"]["hosts"][0]
    prepared = prepare()
    rounds: dict[str, list[dict]] = {layer: [] for layer in LAYERS}
    for n in range(args.chat_rounds):
        for layer in LAYERS if n % 2 == 0 else tuple(reversed(LAYERS)):
            print(f"[bench] chat fan-out round {n + 1}/{args.chat_rounds}: {args.chat_clients} clients, "
                  f"layer {layer}", flush=True)
            rounds[layer].append(measure_layer(layer, env, free_port(), prepared, args, redis_url))
    baseline = redis_baseline(redis_url, args.chat_messages, args.chat_interval)
    setup = (f"{args.chat_clients} websocket clients (aiohttp, {args.chat_procs} separate load processes) on "
             f"/ws/events/<id>/?watch=1 of the production shape (deploy/Procfile: microstage.serve --workers "
             f"{args.web_workers}, MICROSTAGE_DEBUG=false, one Celery worker and beat; the kernel spreads the "
             f"connections over the workers, per round in the figures' notes); the owner sends "
             f"{args.chat_messages} chat messages, one every "
             f"{args.chat_interval:g} s, from another load process; latency = receive time - send time "
             f"(same machine clock) over all deliveries; {args.chat_rounds} rounds per layer, layers alternating. "
             f"Baseline: raw Redis PUBLISH -> one SUBSCRIBEd client at the same rate, same Redis, same run "
             f"(p50 {baseline['p50_ms']:.3f} ms, p99 {baseline['p99_ms']:.3f} ms, {baseline['count']} messages). "
             f"{os.cpu_count()} CPUs shared by server, load generators, PostgreSQL, Redis and other work on "
             f"the machine: absolute numbers are noisy.")
    out = {}
    for layer in LAYERS:
        ms = rounds[layer]
        name = {"core": "RedisChannelLayer", "pubsub": "RedisPubSubChannelLayer"}[layer]
        per_round = "; ".join(
            f"round {i + 1}: p50 {m['p50_ms'] and round(m['p50_ms'], 1)} / p99 {m['p99_ms'] and round(m['p99_ms'], 1)}"
            f" / max {m['max_ms'] and round(m['max_ms'], 1)} ms, {m['delivered']}/{m['expected']} delivered, "
            f"{m['redis_ops_per_message']:.1f} Redis commands per message, connections per web process "
            f"{m['spread']}, loadavg {m['load']:.2f}"
            for i, m in enumerate(ms))
        detail = (f"{name}: {per_round}. 'over capacity' lines in the server logs: "
                  f"{sum(m['over_capacity_logs'] for m in ms)}; sender errors: {[m['sent']['errors'] for m in ms]}.")
        p50 = statistics.median(m["p50_ms"] or 0 for m in ms)
        p99 = statistics.median(m["p99_ms"] or 0 for m in ms)
        out[f"chat_fanout_{layer}_p50_ms"] = figure(p50, "ms", baseline["p50_ms"],
                                                    f"p50 chat delivery latency (median of rounds). {detail} {setup}")
        out[f"chat_fanout_{layer}_p99_ms"] = figure(p99, "ms", baseline["p99_ms"],
                                                    f"p99 chat delivery latency (median of rounds). {detail} {setup}")
        out[f"chat_fanout_{layer}_delivered"] = figure(sum(m["delivered"] for m in ms), "frames",
                                                       sum(m["expected"] for m in ms),
                                                       f"chat frames received over all rounds; baseline = clients x "
                                                       f"messages x rounds, ratio 1 = nothing lost. {detail}")
        out[f"chat_fanout_{layer}_redis_ops"] = figure(statistics.median(m["redis_ops_per_message"] for m in ms),
                                                       "commands/message", None,
                                                       f"Redis commands executed (INFO commandstats, all clients, "
                                                       f"so presence heartbeats too) per chat message sent, median "
                                                       f"of rounds. {detail}")
    out["chat_fanout_redis_baseline_p50_ms"] = figure(baseline["p50_ms"], "ms", None,
                                                      f"BASELINE raw Redis publish-to-subscriber p50. {setup}")
    out["chat_fanout_redis_baseline_p99_ms"] = figure(baseline["p99_ms"], "ms", None,
                                                      f"BASELINE raw Redis publish-to-subscriber p99. {setup}")
    return out


def add_arguments(parser) -> None:
    parser.add_argument("--chat-clients", type=int, default=500, help="chat fan-out clients (default 500)")
    parser.add_argument("--chat-messages", type=int, default=100, help="chat messages sent (default 100)")
    parser.add_argument("--chat-interval", type=float, default=0.2, help="seconds between messages (0.2)")
    parser.add_argument("--chat-procs", type=int, default=2, help="receiver load processes (default 2)")
    parser.add_argument("--chat-rounds", type=int, default=3, help="rounds per layer, alternating (default 3)")


# --- load processes ------------------------------------------------------------------------------

async def _receive(url: str, clients: int, messages: int, origin: str) -> dict:
    import aiohttp

    latencies: list[float] = []
    seen: list[set] = [set() for _ in range(clients)]
    connector = aiohttp.TCPConnector(limit=0)
    async with aiohttp.ClientSession(connector=connector) as session:
        sockets = []
        for start in range(0, clients, 50):  # open in batches: a thundering herd is not what we measure
            batch = await asyncio.gather(*[session.ws_connect(url + "?watch=1", origin=origin, max_msg_size=0,
                                                              heartbeat=None)
                                           for _ in range(start, min(clients, start + 50))])
            sockets.extend(batch)

        async def reader(i, ws):
            async for msg in ws:
                if msg.type != aiohttp.WSMsgType.TEXT:
                    break
                now = time.time_ns()
                frame = json.loads(msg.data)
                if frame.get("type") == "chat" and frame.get("text", "").startswith("bench:"):
                    _, seq, sent = frame["text"].split(":")
                    if seq not in seen[i]:
                        seen[i].add(seq)
                        latencies.append((now - int(sent)) / 1e6)

        tasks = [asyncio.create_task(reader(i, ws)) for i, ws in enumerate(sockets)]
        print(f"ready {len(sockets)}", flush=True)
        loop = asyncio.get_running_loop()
        await loop.run_in_executor(None, sys.stdin.readline)  # the harness says "stop" after the sender
        # Late deliveries still count: wait until every socket has every message, or LATE_WAIT has
        # passed without anything new arriving (what is still missing then counts as lost).
        last, quiet_since = -1, time.monotonic()
        while time.monotonic() - quiet_since < LATE_WAIT and sum(map(len, seen)) < clients * messages:
            await asyncio.sleep(0.2)
            if len(latencies) != last:
                last, quiet_since = len(latencies), time.monotonic()
        for ws in sockets:
            await ws.close()
        for task in tasks:
            task.cancel()
    return {"latencies_ms": latencies}


async def _send(url: str, messages: int, interval: float, origin: str) -> dict:
    import aiohttp

    errors = 0
    async with aiohttp.ClientSession() as session, session.ws_connect(url, origin=origin) as ws:
        async def drain():
            nonlocal errors
            async for msg in ws:
                if msg.type == aiohttp.WSMsgType.TEXT and json.loads(msg.data).get("type") == "error":
                    errors += 1

        drainer = asyncio.create_task(drain())
        for seq in range(messages):
            await ws.send_str(json.dumps({"type": "chat", "text": f"bench:{seq}:{time.time_ns()}"}))
            await asyncio.sleep(interval)
        await asyncio.sleep(1.0)
        drainer.cancel()
    return {"sent": messages, "errors": errors}


def main() -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.chat_fanout", description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="mode")
    rec = sub.add_parser("receive")
    rec.add_argument("url")
    rec.add_argument("--clients", type=int, required=True)
    rec.add_argument("--messages", type=int, required=True)
    rec.add_argument("--origin", required=True)
    snd = sub.add_parser("send")
    snd.add_argument("url")
    snd.add_argument("--messages", type=int, required=True)
    snd.add_argument("--interval", type=float, required=True)
    snd.add_argument("--origin", required=True)
    add_arguments(parser)
    parser.add_argument("--web-workers", type=int, default=2, help="uvicorn worker processes (default 2)")
    parser.add_argument("--output", type=Path, default=Path(__file__).resolve().parent / "results.json")
    args = parser.parse_args()
    if args.mode == "receive":
        print(json.dumps(asyncio.run(_receive(args.url, args.clients, args.messages, args.origin))), flush=True)
        return 0
    if args.mode == "send":
        print(json.dumps(asyncio.run(_send(args.url, args.messages, args.interval, args.origin))), flush=True)
        return 0
    # Standalone: only this benchmark, merged into results.json.
    from .__main__ import free_port, manage

    os.environ.setdefault("MICROSTAGE_DEBUG", "true")  # the harness only: the server gets production_env
    env = dict(os.environ)
    manage(env, "migrate", "--noinput", "-v", "0")
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "microstage.settings")
    import django

    django.setup()
    results = json.loads(args.output.read_text()) if args.output.exists() else {}
    results.update(run(env, args, free_port))
    args.output.write_text(json.dumps(results, indent=2) + "\n")
    for key, value in results.items():
        if key.startswith("chat_fanout"):
            print(f"{key:40} {value['value']:>10} {value['unit']:6} baseline {value['baseline']} "
                  f"ratio {value['ratio']}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
