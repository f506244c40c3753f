"""Microstage benchmarks: `make bench`, or `python -m bench` with DATABASE_URL and REDIS_URL set.

1. `manage.py migrate` and `manage.py demo` (both idempotent) against the configured database.
2. In-process: the SQL query count of rendering the demo landing page once (CaptureQueriesContext).
3. Starts uvicorn the way `make run` does, on a free 127.0.0.1 port, and load-tests the trivial
   `GET /api/v1/ping` (the baseline) then the landing page with bench/http_load.py in a separate
   process; then the ticket rush (bench/ticket_rush.py, also a separate process): 250 buyers with
   API tokens, created beforehand, race through POST /api/v1/orders for a tier of 100. The server
   is always stopped. The database is then asked what was really taken: exactly 100, or FAIL.
4. Writes bench/results.json and prints a table, and a PASS/FAIL line for the rush (exit status 1
   on FAIL). Every figure carries the same-run baseline it is compared with, because absolute
   numbers on a shared machine mean little on their own.
"""
from __future__ import annotations

import argparse
import json
import os
import re
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from collections import Counter
from pathlib import Path
from urllib.parse import unquote, urlsplit

BASE_DIR = Path(__file__).resolve().parent.parent
RESULTS = Path(__file__).resolve().parent / "results.json"
PING_PATH = "/api/v1/ping"
LANDING_PATH = "/e/late-night-session/"
HOST = "127.0.0.1"


def log(msg: str) -> None:
    print(f"[bench] {msg}", flush=True)


def manage(env: dict, *args: str) -> None:
    subprocess.run([sys.executable, "manage.py", *args], cwd=BASE_DIR, env=env, check=True, timeout=900,
                   stdout=subprocess.DEVNULL)


def query_counts() -> dict:
    """Queries of one request to each path through the full middleware stack, cold then warm."""
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "microstage.settings")
    import django

    django.setup()
    from django.db import connection, connections
    from django.test import Client
    from django.test.utils import CaptureQueriesContext

    client = Client(HTTP_HOST=HOST)
    out = {}
    try:
        for name, path in (("ping", PING_PATH), ("landing", LANDING_PATH)):
            counts = []
            for _ in range(2):  # first render may fill per-process caches (content types, sites)
                with CaptureQueriesContext(connection) as ctx:
                    response = client.get(path)
                if response.status_code != 200:
                    raise SystemExit(f"GET {path} answered {response.status_code} in-process")
                counts.append(len(ctx.captured_queries))
            out[name] = {"cold": counts[0], "warm": counts[1], "bytes": len(response.content)}
    finally:
        connections.close_all()
    return out


def where(url: str) -> str:
    """host[:port]/path of a database or Redis URL, without credentials (unix sockets show their path)."""
    parts = urlsplit(url)
    host = unquote(parts.netloc.rpartition("@")[2])
    return f"{parts.scheme}://{host}{parts.path}"


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind((HOST, 0))
        return s.getsockname()[1]


class Server:
    """uvicorn serving microstage.asgi:application as `make run` does, in its own session."""

    def __init__(self, env: dict, port: int):
        self.env, self.port = env, port
        self.proc: subprocess.Popen | None = None
        self.log = tempfile.NamedTemporaryFile(prefix="ms-bench-uvicorn-", suffix=".log", delete=False)

    def start(self, timeout: float = 60.0) -> None:
        argv = [sys.executable, "-m", "uvicorn", "microstage.asgi:application", "--host", HOST,
                "--port", str(self.port), "--lifespan", "off", "--no-access-log", "--ws", "websockets"]
        # New session: a terminal Ctrl-C reaches the harness, which then stops the server itself.
        self.proc = subprocess.Popen(argv, cwd=BASE_DIR, env=self.env, stdout=self.log, stderr=subprocess.STDOUT,
                                     start_new_session=True)
        deadline = time.monotonic() + timeout
        url = f"http://{HOST}:{self.port}{PING_PATH}"
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"uvicorn exited with {self.proc.returncode}; log:\n{self.tail()}")
            try:
                with urllib.request.urlopen(url, timeout=2) as resp:
                    if resp.status == 200:
                        return
            except (urllib.error.URLError, OSError):
                pass
            time.sleep(0.2)
        raise RuntimeError(f"uvicorn did not answer {url} within {timeout:.0f} s; log:\n{self.tail()}")

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)
        self.proc = None
        self.log.close()

    def tail(self, lines: int = 30) -> str:
        self.log.flush()
        text = Path(self.log.name).read_text(errors="replace")
        return "\n".join(text.splitlines()[-lines:])


def load(port: int, path: str, args) -> dict:
    argv = [sys.executable, "-m", "bench.http_load", f"http://{HOST}:{port}{path}",
            "--concurrency", str(args.concurrency), "--duration", str(args.duration), "--warmup", str(args.warmup)]
    proc = subprocess.run(argv, cwd=BASE_DIR, check=True, capture_output=True, text=True,
                          timeout=args.warmup + args.duration + 60)
    result = json.loads(proc.stdout)
    if not result["ok"]:
        raise SystemExit(f"no 200 responses from {path}: errors {result['errors']}")
    return result


def rush_load(port: int, prepared: dict, tokens_file: Path) -> dict:
    from .ticket_rush import RUSH_TIMEOUT

    argv = [sys.executable, "-m", "bench.ticket_rush", f"http://{HOST}:{port}", "--tier", prepared["tier"],
            "--tokens", str(tokens_file)]
    proc = subprocess.run(argv, cwd=BASE_DIR, check=True, capture_output=True, text=True, timeout=RUSH_TIMEOUT + 90)
    return json.loads(proc.stdout)


def figure(value, unit, baseline=None, notes=""):
    ratio = round(value / baseline, 3) if baseline else None
    return {"value": round(value, 3), "unit": unit, "baseline": None if baseline is None else round(baseline, 3),
            "ratio": ratio, "notes": notes}


def server_errors(log_text: str) -> dict[str, int]:
    """The exception lines of the tracebacks in the server's log, counted (what the 500s were)."""
    found = re.findall(r"^([A-Za-z_][\w.]*(?:Error|Exception|Warning)\b.*)$", log_text, flags=re.MULTILINE)
    return dict(Counter(line[:200] for line in found).most_common(5))


def build_rush(rush: dict, db: dict, prepared: dict, ping: dict, conditions: str, errors: dict) -> dict:
    stock, buyers = prepared["stock"], prepared["buyers"]
    others = {k: v for k, v in rush["statuses"].items() if k not in ("201", "409:sold_out")}
    clean = "PASS" if not others else "FAIL"
    setup = (f"TICKET RUSH: {buyers} distinct users with API tokens (created in the DB beforehand), each on its own "
             f"keep-alive connection opened before a common start line, send one POST /api/v1/orders "
             f"{{\"lines\": [{{\"tier\": id, \"quantity\": 1}}]}} at once for a new tier of {stock} "
             f"(max 1 per order; in-person, venue capacity {stock * 2}). {rush['answered']} answered, "
             f"{rush['unanswered']} unanswered, {rush['connected_before_start']} connected before the start; "
             f"statuses {rush['statuses']}. Wall time {rush['wall_s']:.3f} s from the start line to the last answer. "
             f"The ping baseline was measured in the same run at 16 closed-loop connections, the rush at {buyers} "
             f"one-shot requests, so latency ratios mostly show queueing in one server process.")
    verdict = "PASS" if db["exact"] and rush["created"] == stock else "FAIL"
    result = {
        "rush_reservations_per_s": figure(rush["reservations_per_s"], "reservations/s", ping["requests_per_s"],
                                          f"201 Created per second of rush wall time; baseline = ping_rps. "
                                          f"{setup} {conditions}"),
        "rush_p50_ms": figure(rush["p50_ms"], "ms", ping["p50_ms"],
                              f"latency p50 of all {rush['answered']} rush answers (201 and 409); baseline = "
                              f"ping_p50_ms. Of the 201s alone: p50 {rush['created_p50_ms']} ms. {setup}"),
        "rush_p99_ms": figure(rush["p99_ms"], "ms", ping["p99_ms"],
                              f"latency p99 of all rush answers; baseline = ping_p99_ms. Of the 201s alone: p99 "
                              f"{rush['created_p99_ms']} ms; max {rush['max_ms']} ms. {setup}"),
        "rush_created": figure(rush["created"], "201s", stock,
                               f"201 answers; baseline = the tier's stock, ratio must be 1. {setup}"),
        "rush_sold_out": {
            **figure(rush["sold_out"], "409s", buyers - stock,
                     f"{clean}: 409 answers with code sold_out; baseline = buyers - stock, ratio 1 when every "
                     f"buyer who got nothing got a clean sold_out. Other answers: {others or 'none'}"
                     f"{'; server log: ' + json.dumps(errors) if errors else ''}. {setup}"),
            "pass": clean == "PASS"},
        "rush_sold_exactly_stock": {
            **figure(db["taken"], "tickets", stock,
                     f"{verdict}: units taken from the tier's pool in the database after the rush (sold "
                     f"{db['pool_sold']} + actively held {db['held']}) = {db['taken']}, order lines for the tier "
                     f"{db['order_units']} units in {db['orders']} orders, pool total {db['pool_total']}; "
                     f"must equal the stock {stock}, and {rush['created']} x 201 must too."),
            "pass": verdict == "PASS"},
    }
    return result


def build(ping: dict, landing: dict, queries: dict, conditions: str) -> dict:
    def errs(r):
        return f"{r['ok']} x 200, {r['error_count']} errors {r['errors'] or ''}".rstrip()

    return {
        "ping_rps": figure(ping["requests_per_s"], "req/s", None,
                           f"BASELINE: GET {PING_PATH} -> {{\"ok\": true}} (DRF APIView, no auth, no DB). "
                           f"{errs(ping)}. {conditions}"),
        "ping_p50_ms": figure(ping["p50_ms"], "ms", None, f"BASELINE latency p50 of GET {PING_PATH}. {conditions}"),
        "ping_p99_ms": figure(ping["p99_ms"], "ms", None, f"BASELINE latency p99 of GET {PING_PATH}. {conditions}"),
        "landing_rps": figure(landing["requests_per_s"], "req/s", ping["requests_per_s"],
                              f"GET {LANDING_PATH} (demo event, {queries['landing']['bytes']} bytes HTML); "
                              f"baseline = ping_rps, ratio < 1 means fewer req/s than ping. {errs(landing)}. "
                              f"{conditions}"),
        "landing_p50_ms": figure(landing["p50_ms"], "ms", ping["p50_ms"],
                                 f"latency p50 of GET {LANDING_PATH}; baseline = ping_p50_ms, ratio > 1 means "
                                 f"slower. {conditions}"),
        "landing_p99_ms": figure(landing["p99_ms"], "ms", ping["p99_ms"],
                                 f"latency p99 of GET {LANDING_PATH}; baseline = ping_p99_ms, ratio > 1 means "
                                 f"slower. {conditions}"),
        "landing_queries": figure(queries["landing"]["warm"], "queries", queries["ping"]["warm"],
                                  f"SQL queries of one anonymous GET {LANDING_PATH} through the full middleware "
                                  f"stack, in-process (django.test.Client + CaptureQueriesContext), second request "
                                  f"(first request: {queries['landing']['cold']}). Baseline = same count for "
                                  f"GET {PING_PATH}; ratio is null when that baseline is 0. Deterministic, unlike "
                                  f"the timings."),
    }


def print_table(results: dict, conditions: str) -> None:
    def fmt(x):
        return "-" if x is None else f"{x:,.3f}".rstrip("0").rstrip(".")

    rows = [("figure", "value", "unit", "baseline", "ratio")]
    rows += [(k, fmt(v["value"]), v["unit"], fmt(v["baseline"]), fmt(v["ratio"])) for k, v in results.items()]
    widths = [max(len(r[i]) for r in rows) for i in range(5)]
    for n, row in enumerate(rows):
        cells = zip(row, widths, strict=True)
        print("  ".join(c.ljust(w) if i in (0, 2) else c.rjust(w) for i, (c, w) in enumerate(cells)))
        if n == 0:
            print("  ".join("-" * w for w in widths))
    print(f"\n{conditions}")


def main() -> int:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__.splitlines()[0])
    parser.add_argument("--concurrency", type=int, default=16, help="keep-alive connections (default 16)")
    parser.add_argument("--duration", type=float, default=10.0, help="measured seconds per endpoint (default 10)")
    parser.add_argument("--warmup", type=float, default=2.0, help="uncounted seconds first (default 2)")
    parser.add_argument("--output", type=Path, default=RESULTS)
    parser.add_argument("--rush-buyers", type=int, default=250, help="ticket rush buyers (default 250)")
    parser.add_argument("--rush-stock", type=int, default=100, help="ticket rush tier size (default 100)")
    from .chat_fanout import add_arguments as chat_fanout_arguments  # chat fan-out (--chat-*)

    chat_fanout_arguments(parser)
    from .drop_rush import add_arguments as drop_rush_arguments  # drop rush (--drop-*)

    drop_rush_arguments(parser)
    args = parser.parse_args()

    os.environ.setdefault("MICROSTAGE_DEBUG", "true")  # as `make run` (devstack.run) sets it
    port = free_port()
    os.environ.setdefault("MICROSTAGE_SITE_URL", f"http://{HOST}:{port}")
    env = dict(os.environ)
    if not env.get("DATABASE_URL") or not env.get("REDIS_URL"):
        log("DATABASE_URL/REDIS_URL unset: the settings' defaults (localhost:5432, :6379) apply; "
            "`make bench` starts embedded engines instead")

    log("migrate + demo data")
    manage(env, "migrate", "--noinput", "-v", "0")
    manage(env, "demo")
    log("query counts (in-process)")
    queries = query_counts()
    from .ticket_rush import prepare, verify

    log(f"ticket rush data: {args.rush_buyers} buyers with API tokens, a tier of {args.rush_stock}")
    tokens_file = Path(tempfile.mkstemp(prefix="ms-bench-rush-", suffix=".json")[1])
    prepared = prepare(args.rush_buyers, args.rush_stock, tokens_file)

    load_before = os.getloadavg()
    server = Server(env, port)
    try:
        log(f"starting uvicorn on {HOST}:{port}")
        server.start()
        log(f"load: GET {PING_PATH}  ({args.concurrency} connections, {args.warmup:g}+{args.duration:g} s)")
        ping = load(port, PING_PATH, args)
        log(f"load: GET {LANDING_PATH}  ({args.concurrency} connections, {args.warmup:g}+{args.duration:g} s)")
        landing = load(port, LANDING_PATH, args)
        log(f"ticket rush: {args.rush_buyers} buyers at once for {args.rush_stock} tickets (POST /api/v1/orders)")
        rush = rush_load(port, prepared, tokens_file)
        errors = server_errors(Path(server.log.name).read_text(errors="replace"))
    finally:
        server.stop()
        Path(server.log.name).unlink(missing_ok=True)
        tokens_file.unlink(missing_ok=True)
    db = verify(prepared["tier"], args.rush_stock)
    load_after = os.getloadavg()

    conditions = (
        f"Loopback {HOST}, {args.concurrency} keep-alive connections, {args.warmup:g} s warm-up then "
        f"{args.duration:g} s measured per endpoint (ping first, then landing, same server). Server: one uvicorn "
        f"process, microstage.asgi:application --lifespan off --no-access-log, "
        f"MICROSTAGE_DEBUG={env['MICROSTAGE_DEBUG']} as `make run` sets it (dev configuration, not production), "
        f"database connection pool of {env.get('MICROSTAGE_DB_POOL_MAX', '20 (default)')} per process, "
        f"database {where(env.get('DATABASE_URL', ''))}, Redis {where(env.get('REDIS_URL', ''))}. "
        f"Load generator: bench/http_load.py (aiohttp), a separate process on the same "
        f"{os.cpu_count()}-CPU machine, which other work shares (loadavg 1 min {load_before[0]:.2f} before, "
        f"{load_after[0]:.2f} after): absolute numbers are noisy; compare ratios within one run."
    )
    results = build(ping, landing, queries, conditions)
    results.update(build_rush(rush, db, prepared, ping, conditions, errors))
    from .chat_fanout import run as chat_fanout_run  # its own servers: one per channel layer

    log(f"chat fan-out: {args.chat_clients} websocket clients, both channel layers (bench/chat_fanout.py)")
    results.update(chat_fanout_run(env, args, free_port))
    from .transcode import run as transcode_run  # streaming: HLS ladder vs stream-copy remux

    log("transcode: HLS ladder vs stream-copy remux of the same input")
    results.update(transcode_run())
    log("clips: a 60 s clip from a one-hour recording (bench/clips.py)")
    from .clips import run as run_clips

    results.update(run_clips())
    log("group-buy settlement: 5,000 participants in the sandbox (bench/settlement.py)")
    from .settlement import run as run_settlement

    results.update(run_settlement())
    log(f"drop rush: {args.drop_clients} watchers, {args.drop_purchases} purchases (bench/drop_rush.py)")
    from .drop_rush import run as run_drop_rush

    results.update(run_drop_rush(env, args, free_port))
    log("analytics: event_metrics and the event analytics page, 100,000 views / 10,000 orders (bench/analytics.py)")
    from .analytics import run as run_analytics

    results.update(run_analytics())
    log("media: 300 HLS viewers through nginx, a 200 MB download's web RSS (bench/media.py)")
    from .media import run as run_media

    results.update(run_media())
    log("glass-to-glass: camera frames through the live ladder to the stored playlist (bench/glass.py)")
    from .glass import run as run_glass

    results.update(run_glass())
    args.output.write_text(json.dumps(results, indent=2) + "\n")
    print()
    print_table(results, conditions)
    print(f"\nwritten: {args.output}")
    if ping["error_count"] or landing["error_count"]:
        log(f"WARNING: non-200 responses: ping {ping['errors']}, landing {landing['errors']}")
    exact, refused = results["rush_sold_exactly_stock"], results["rush_sold_out"]
    print(f"\nticket rush, exactly {args.rush_stock} sold: {exact['notes']}")
    print(f"ticket rush, everyone else a clean sold_out: {refused['notes'].split(' TICKET RUSH:')[0]}")
    return 0 if exact["pass"] else 1


if __name__ == "__main__":
    try:
        sys.exit(main())
    except KeyboardInterrupt:
        log("interrupted; server stopped")
        sys.exit(130)
