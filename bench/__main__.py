"""Microstage benchmarks: `make bench`, or `python -m bench` with DATABASE_URL and REDIS_URL set.

1. `manage.py migrate` and `manage.py demo` (both idempotent) against the configured database.
2. In-process: the SQL query count of rendering the demo landing page once (CaptureQueriesContext).
3. Starts the production shape as deploy/Procfile runs it (microstage.serve: uvicorn's server in 2 worker
   processes with a listening socket each, debug
   off, one Celery worker and beat) on a free 127.0.0.1 port, and load-tests the trivial
   `GET /api/v1/ping` (the baseline) then the landing page with bench/http_load.py in a separate
   process; then the ticket rush (bench/ticket_rush.py, also a separate process): 400 buyers with
   API tokens, created beforehand, race through POST /api/v1/orders for a tier of 100, 200 in
   flight. The servers are always stopped. The database is then asked what was really taken:
   exactly 100, or FAIL. Chat fan-out and the drop rush start the same shape.
4. Measures the ping baseline once more, last (`ping_again_rps`; a warning when it moved by more than 20 %).
5. Writes bench/results.json and prints a table, and a PASS/FAIL line for the rush (exit status 1
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
from contextlib import contextmanager
from pathlib import Path
from urllib.parse import unquote, urlsplit

BASE_DIR = Path(__file__).resolve().parent.parent
RESULTS = Path(__file__).resolve().parent / "results.json"
PING_PATH = "/api/v1/ping"
LANDING_PATH = "/e/late-night-session/"
HEALTHZ_PATH = "/healthz"
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


def reservation_queries() -> dict:
    """Queries of one selling POST /api/v1/orders and of one refused right after (in-process, token auth)."""
    from django.db import connection, connections
    from django.test import Client
    from django.test.utils import CaptureQueriesContext

    from .ticket_rush import prepare

    tokens_file = Path(tempfile.mkstemp(prefix="ms-bench-q-", suffix=".json")[1])
    try:
        prepared = prepare(3, 1, tokens_file)
        tokens = json.loads(tokens_file.read_text())
    finally:
        tokens_file.unlink(missing_ok=True)
    client = Client(HTTP_HOST=HOST)
    body = json.dumps({"lines": [{"tier": prepared["tier"], "quantity": 1}]})
    counts = []
    try:
        for token, expected in zip(tokens, (201, 409, 409), strict=True):
            with CaptureQueriesContext(connection) as ctx:
                r = client.post("/api/v1/orders", body, content_type="application/json",
                                HTTP_AUTHORIZATION=f"Token {token}")
            if r.status_code != expected:
                raise SystemExit(f"reservation query count: expected {expected}, got {r.status_code} {r.content!r}")
            counts.append(len(ctx.captured_queries))
    finally:
        connections.close_all()
    return {"sale": counts[0], "refusal": counts[2], "first_refusal": counts[1]}


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
    """uvicorn serving microstage.asgi:application, in its own session (process group).

    workers=1 is `make run`'s shape (uvicorn alone); workers=2 with a production environment is
    deploy/Procfile's `web` (microstage.serve: uvicorn's server in each worker, a socket each).
    """

    def __init__(self, env: dict, port: int, workers: int = 1):
        self.env, self.port, self.workers = env, port, workers
        self.proc: subprocess.Popen | None = None
        self.log = tempfile.NamedTemporaryFile(prefix="ms-bench-uvicorn-", suffix=".log", delete=False)

    def start(self, timeout: float = 60.0) -> None:
        if self.workers > 1:  # deploy/Procfile's web: uvicorn's server in workers with a socket each
            argv = [sys.executable, "-m", "microstage.serve", "microstage.asgi:application", "--host", HOST,
                    "--port", str(self.port), "--workers", str(self.workers), "--no-access-log"]
        else:
            argv = [sys.executable, "-m", "uvicorn", "microstage.asgi:application", "--host", HOST,
                    "--port", str(self.port), "--lifespan", "off", "--no-access-log"]
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
        stop_group(self.proc)
        self.proc = None
        self.log.close()

    def tail(self, lines: int = 30) -> str:
        self.log.flush()
        text = Path(self.log.name).read_text(errors="replace")
        return "\n".join(text.splitlines()[-lines:])


def stop_group(proc: subprocess.Popen | None) -> None:
    """SIGTERM the process we started (it stops its own children), then its whole group if it lingers."""
    if proc is None or proc.poll() is not None:
        return
    proc.send_signal(signal.SIGTERM)
    try:
        proc.wait(15)
    except subprocess.TimeoutExpired:
        try:
            os.killpg(proc.pid, signal.SIGKILL)  # the session we created for it, nothing else
        except ProcessLookupError:
            pass
        proc.wait(5)


class Celery:
    """One Celery worker (and beat, as deploy/Procfile runs them) for the production-shaped server."""

    def __init__(self, env: dict, concurrency: int = 1):
        self.env, self.concurrency = env, concurrency
        self.procs: list[subprocess.Popen] = []
        self.dir = Path(tempfile.mkdtemp(prefix="ms-bench-celery-"))

    def start(self, timeout: float = 60.0) -> None:
        common = [sys.executable, "-m", "celery", "-A", "microstage"]
        for argv in ([*common, "worker", "--loglevel", "WARNING", "--concurrency", str(self.concurrency),
                      "--hostname", f"bench-{os.getpid()}@%h"],
                     [*common, "beat", "--loglevel", "WARNING", "--schedule", str(self.dir / "beat-schedule")]):
            log_file = open(self.dir / f"{argv[4]}.log", "wb")  # noqa: SIM115 (closed with the process)
            self.procs.append(subprocess.Popen(argv, cwd=BASE_DIR, env=self.env, stdout=log_file,
                                               stderr=subprocess.STDOUT, start_new_session=True))
        from microstage.celery import app

        deadline = time.monotonic() + timeout
        while not app.control.ping(timeout=0.5):
            if self.procs[0].poll() is not None or time.monotonic() > deadline:
                raise RuntimeError("the Celery worker did not come up: "
                                   + (self.dir / "worker.log").read_text(errors="replace")[-2000:])

    def stop(self) -> None:
        for proc in self.procs:
            stop_group(proc)
        self.procs = []
        for f in self.dir.iterdir():
            f.unlink()
        self.dir.rmdir()


def production_env(env: dict) -> dict:
    """deploy/Procfile's environment on loopback: debug off, no TLS redirect (no proxy here), static
    files from the finders (whitenoise; no collectstatic step), the sandbox payment provider."""
    return {**env, "MICROSTAGE_DEBUG": "false",
            "MICROSTAGE_SECRET_KEY": env.get("MICROSTAGE_SECRET_KEY") or "bench-" + os.urandom(16).hex(),
            "MICROSTAGE_SECURE_SSL_REDIRECT": "false", "MICROSTAGE_SECURE_COOKIES": "false",
            "MICROSTAGE_HSTS_SECONDS": "0", "MICROSTAGE_STATIC_MANIFEST": "false",
            "MICROSTAGE_STATIC_FROM_FINDERS": "true",
            "MICROSTAGE_PAYMENTS_PROVIDER": env.get("MICROSTAGE_PAYMENTS_PROVIDER", "sandbox")}


@contextmanager
def production_server(env: dict, port: int, workers: int = 2):
    """deploy/Procfile's shape on loopback: microstage.serve --workers `workers` with production_env(env) (debug
    off), and one Celery worker + beat. Yields the Server (its log is readable until the block ends);
    everything started is stopped on the way out, whatever happened."""
    prod = production_env(env)
    server = Server(prod, port, workers=workers)
    worker = Celery(prod)
    try:
        log("starting one Celery worker and beat")
        worker.start()
        log(f"starting the web process on {HOST}:{port} ({workers} workers, debug off)")
        server.start()
        yield server
    finally:
        server.stop()
        worker.stop()
        Path(server.log.name).unlink(missing_ok=True)


def load(port: int, path: str, args) -> dict:
    argv = [sys.executable, "-m", "bench.http_load", f"http://{HOST}:{port}{path}",
            "--concurrency", str(args.concurrency), "--duration", str(args.duration), "--warmup", str(args.warmup)]
    proc = subprocess.run(argv, cwd=BASE_DIR, check=True, capture_output=True, text=True,
                          timeout=args.warmup + args.duration + 60)
    result = json.loads(proc.stdout)
    if not result["ok"]:
        raise SystemExit(f"no 200 responses from {path}: errors {result['errors']}")
    return result


def rush_load(port: int, tier: str, tokens_file: Path, in_flight: int, side: str = "") -> dict:
    from .ticket_rush import RUSH_TIMEOUT

    argv = [sys.executable, "-m", "bench.ticket_rush", f"http://{HOST}:{port}", "--tier", tier,
            "--tokens", str(tokens_file), "--in-flight", str(in_flight)]
    if side:
        argv += ["--side", side, "--side-concurrency", "16"]
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


def median(values):
    values = sorted(v for v in values if v is not None)
    if not values:
        return None
    mid = len(values) // 2
    return values[mid] if len(values) % 2 else (values[mid - 1] + values[mid]) / 2


def build_rush(rounds: list[dict], dbs: list[dict], prepared: dict, ping: dict, conditions: str, errors: dict,
               queries: dict) -> dict:
    """The rush figures: medians over the measured rounds, every round verified against the database."""
    stock, buyers = prepared["stock"], prepared["buyers"]
    in_flight = rounds[0]["in_flight"]
    statuses = Counter()
    for r in rounds:
        statuses.update(r["statuses"])
    others = {k: v for k, v in statuses.items() if k not in ("201", "409:sold_out")}
    clean = "PASS" if not others else "FAIL"
    exact = all(db["exact"] for db in dbs) and all(r["created"] == stock for r in rounds)
    verdict = "PASS" if exact else "FAIL"
    med = {k: median([r[k] for r in rounds]) for k in ("answers_per_s", "reservations_per_s", "sold_out_s", "wall_s",
                                                        "p50_ms", "p99_ms", "created_p50_ms", "created_p99_ms")}
    side = {path: [r["side"] for r in rounds if r["side"] and r["side"]["path"] == path]
            for path in (PING_PATH, HEALTHZ_PATH)}
    side_rps = {path: median([x["requests_per_s"] for x in v]) for path, v in side.items()}
    side_p99 = {path: median([x["p99_ms"] for x in v]) for path, v in side.items()}
    side_errors = {path: sum(sum(x["errors"].values()) for x in v) for path, v in side.items()}
    setup = (f"TICKET RUSH x {len(rounds)} rounds (medians; one fresh tier each, after one unmeasured warm-up round): "
             f"{buyers} distinct users with API tokens (new users each round), each on its own keep-alive connection "
             f"opened before a "
             f"common start line, send one POST /api/v1/orders {{\"lines\": [{{\"tier\": id, \"quantity\": 1}}]}} "
             f"for a new tier of {stock} (max 1 per order; in-person, venue capacity {stock * 2}), at most "
             f"{in_flight} requests in flight. Connections per web process at the start line, per round "
             f"{[r.get('connections_by_process') for r in rounds]}. Statuses over all rounds {dict(statuses)}; "
             f"per-round wall times "
             f"{[round(r['wall_s'], 3) for r in rounds]} s. During each round a 16-connection closed-loop side load "
             f"(alternately {PING_PATH} and {HEALTHZ_PATH}) runs from the start line to the last answer.")
    q = queries.get("reserve", {})
    result = {
        "rush_requests_per_s": figure(med["answers_per_s"], "req/s", ping["requests_per_s"],
                                      f"All rush answers (201 and 409) per second of rush wall time, median of "
                                      f"rounds; baseline = ping_rps (same run, same server, no rush). {setup} "
                                      f"{conditions}"),
        "rush_sold_out_s": figure(med["sold_out_s"], "s", None,
                                  f"Start line to the last 201 (the moment the {stock}th ticket is sold), median of "
                                  f"rounds {[round(r['sold_out_s'], 3) for r in rounds]}. {setup}"),
        "healthz_rps": figure(side_rps[HEALTHZ_PATH] or 0.0, "req/s", side_rps[PING_PATH],
                              f"GET {HEALTHZ_PATH} 200s per second over the rush window (16 closed-loop "
                              f"connections while the rush runs), median of rounds; baseline = GET {PING_PATH} "
                              f"measured the same way during the other rounds (same load). p99 {HEALTHZ_PATH} "
                              f"{side_p99[HEALTHZ_PATH]} ms vs ping {side_p99[PING_PATH]} ms; non-200 answers "
                              f"{side_errors}. {setup}"),
        "rush_reservations_per_s": figure(med["reservations_per_s"], "reservations/s", ping["requests_per_s"],
                                          f"201 Created per second of rush wall time (median); baseline = ping_rps. "
                                          f"{setup}"),
        "rush_p50_ms": figure(med["p50_ms"], "ms", ping["p50_ms"],
                              f"latency p50 of all rush answers (201 and 409), median of rounds; baseline = "
                              f"ping_p50_ms. Of the 201s alone: p50 {med['created_p50_ms']} ms. {setup}"),
        "rush_p99_ms": figure(med["p99_ms"], "ms", ping["p99_ms"],
                              f"latency p99 of all rush answers, median of rounds; baseline = ping_p99_ms. Of the "
                              f"201s alone: p99 {med['created_p99_ms']} ms. {setup}"),
        "rush_created": figure(median([r["created"] for r in rounds]), "201s", stock,
                               f"201 answers per round {[r['created'] for r in rounds]}; baseline = the tier's "
                               f"stock, ratio must be 1. {setup}"),
        "rush_sold_out": {
            **figure(median([r["sold_out"] for r in rounds]), "409s", buyers - stock,
                     f"{clean}: 409 answers with code sold_out per round {[r['sold_out'] for r in rounds]}; baseline "
                     f"= buyers - stock, ratio 1 when every buyer who got nothing got a clean sold_out. Other "
                     f"answers: {others or 'none'}{'; server log: ' + json.dumps(errors) if errors else ''}. {setup}"),
            "pass": clean == "PASS"},
        "rush_sold_exactly_stock": {
            **figure(median([db["taken"] for db in dbs]), "tickets", stock,
                     f"{verdict}: per round, units taken from the tier's pool in the database after the rush (sold + "
                     f"actively held) {[db['taken'] for db in dbs]}, order-line units "
                     f"{[db['order_units'] for db in dbs]}, "
                     f"pool totals {[db['pool_total'] for db in dbs]}; each must equal the stock {stock}, and so must "
                     f"each round's 201 count."),
            "pass": verdict == "PASS"},
    }
    if q:
        result["reserve_queries"] = figure(q["sale"], "queries", None,
                                           f"SQL queries of one POST /api/v1/orders that sells (201), in-process "
                                           f"through the full middleware stack (token auth); a refusal (409 "
                                           f"sold_out) when the pool is out takes {q['refusal']} "
                                           f"(refusal_queries). Deterministic.")
        result["refusal_queries"] = figure(q["refusal"], "queries", q["sale"],
                                           "SQL queries of one POST /api/v1/orders answered 409 sold_out right "
                                           "after the pool ran out; baseline = queries of a sale. Deterministic.")
    return result


BASELINE_DRIFT = 0.2  # the baseline's second sample differs by more than this: say the run's ratios are suspect


def baseline_check(ping: dict, again: dict, conditions: str) -> dict:
    """The ping baseline measured a second time, last, on the same server: every ratio of the run divides by
    the first sample, so a machine busy with something else during it shows up here (a warning when the two
    differ by more than BASELINE_DRIFT)."""
    fig = figure(again["requests_per_s"], "req/s", ping["requests_per_s"],
                 f"CHECK of the baseline: GET {PING_PATH} again after the other loads, same server; baseline = "
                 f"ping_rps, ratio 1 when the machine gave both samples alike (the run's ratios use the first). "
                 f"{again['ok']} x 200, {again['error_count']} errors. {conditions}")
    if fig["ratio"] is not None and abs(fig["ratio"] - 1) > BASELINE_DRIFT:
        log(f"WARNING: the ping baseline moved during the run ({ping['requests_per_s']:.0f} req/s first, "
            f"{again['requests_per_s']:.0f} again): this run's ratios are suspect; run it again")
    return fig


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


GROUPS = ("http", "rush", "chat", "transcode", "clips", "settlement", "drop", "analytics", "media", "glass")


def main() -> int:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__.splitlines()[0])
    parser.add_argument("only", nargs="*", metavar="bench",
                        help=f"run only these ({', '.join(GROUPS)}); default all. Figures of the others in "
                             f"results.json are kept.")
    parser.add_argument("--concurrency", type=int, default=16, help="keep-alive connections (default 16)")
    parser.add_argument("--duration", type=float, default=10.0, help="measured seconds per endpoint (default 10)")
    parser.add_argument("--warmup", type=float, default=2.0, help="uncounted seconds first (default 2)")
    parser.add_argument("--output", type=Path, default=RESULTS)
    parser.add_argument("--rush-buyers", type=int, default=400, help="ticket rush buyers (default 400)")
    parser.add_argument("--rush-stock", type=int, default=100, help="ticket rush tier size (default 100)")
    parser.add_argument("--rush-in-flight", type=int, default=200, help="rush requests at once (default 200)")
    parser.add_argument("--rush-rounds", type=int, default=3, help="measured rush rounds per side load (default 3)")
    parser.add_argument("--web-workers", type=int, default=2, help="uvicorn worker processes (default 2)")
    parser.add_argument("--settle-participants", type=int, default=5000, help="group-buy size (default 5000)")
    parser.add_argument("--settle-processes", type=int, default=int(os.environ.get("WORKER_CONCURRENCY", "4")),
                        help="worker processes settling it through the batch task, as deploy/Procfile's worker "
                             "(default WORKER_CONCURRENCY or 4; 1: in-process)")
    from .chat_fanout import add_arguments as chat_fanout_arguments  # chat fan-out (--chat-*)

    chat_fanout_arguments(parser)
    from .drop_rush import add_arguments as drop_rush_arguments  # drop rush (--drop-*)

    drop_rush_arguments(parser)
    args = parser.parse_args()
    unknown = [g for g in args.only if g not in GROUPS]
    if unknown:
        parser.error(f"unknown bench {unknown}; choose from {', '.join(GROUPS)}")
    selected = set(args.only or GROUPS)

    os.environ.setdefault("MICROSTAGE_DEBUG", "true")  # the harness itself and the dev-shaped benches
    port = free_port()
    os.environ.setdefault("MICROSTAGE_SITE_URL", f"http://{HOST}:{port}")
    env = dict(os.environ)
    if not env.get("DATABASE_URL") or not env.get("REDIS_URL"):
        log("DATABASE_URL/REDIS_URL unset: the settings' defaults (localhost:5432, :6379) apply; "
            "`make bench` starts embedded engines instead")

    log("migrate + demo data")
    manage(env, "migrate", "--noinput", "-v", "0")
    manage(env, "demo")
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "microstage.settings")
    import django

    django.setup()  # the in-process parts (set-up of chat and drop, settlement) whichever of them is chosen
    results = json.loads(args.output.read_text()) if args.output.exists() and args.only else {}
    conditions = ""
    exit_status = 0
    if selected & {"http", "rush"}:
        exit_status, conditions = run_web(args, env, port, selected, results)
    if "chat" in selected:
        from .chat_fanout import run as chat_fanout_run  # its own servers: one per channel layer

        log(f"chat fan-out: {args.chat_clients} websocket clients, both channel layers (bench/chat_fanout.py)")
        results.update(chat_fanout_run(env, args, free_port))
    if "transcode" in selected:
        from .transcode import run as transcode_run  # streaming: HLS ladder vs stream-copy remux

        log("transcode: HLS ladder vs stream-copy remux of the same input")
        results.update(transcode_run())
    if "clips" in selected:
        log("clips: a 60 s clip from a one-hour recording (bench/clips.py)")
        from .clips import run as run_clips

        results.update(run_clips())
    if "settlement" in selected:
        log(f"group-buy settlement: {args.settle_participants:,} participants in the sandbox (bench/settlement.py)")
        from .settlement import run as run_settlement

        results.update(run_settlement(args.settle_participants, args.settle_processes))
    if "drop" in selected:
        log(f"drop rush: {args.drop_clients} watchers, {args.drop_purchases} purchases (bench/drop_rush.py)")
        from .drop_rush import run as run_drop_rush

        results.update(run_drop_rush(env, args, free_port))
    if "analytics" in selected:
        log("analytics: event_metrics and the event analytics page, 100,000 views / 10,000 orders "
            "(bench/analytics.py)")
        from .analytics import run as run_analytics

        results.update(run_analytics())
    if "media" in selected:
        log("media: 300 HLS viewers through nginx, a 200 MB download's web RSS (bench/media.py)")
        from .media import run as run_media

        results.update(run_media())
    if "glass" in selected:
        log("glass-to-glass: camera frames through the live ladder to the stored playlist (bench/glass.py)")
        from .glass import run as run_glass

        results.update(run_glass())
    args.output.write_text(json.dumps(results, indent=2) + "\n")
    print()
    print_table(results, conditions)
    print(f"\nwritten: {args.output}")
    return exit_status


def run_web(args, env: dict, port: int, selected: set, results: dict) -> tuple[int, str]:
    """ping (always: the baseline), landing (http), the ticket rush with /healthz under it (rush), against
    the production shape: deploy/Procfile's web (microstage.serve, 2 workers, debug off) and one Celery worker
    and beat."""
    log("query counts (in-process)")
    queries = query_counts()
    tokens_file = Path(tempfile.mkstemp(prefix="ms-bench-rush-", suffix=".json")[1])
    prepared = None
    if "rush" in selected:
        from .ticket_rush import prepare

        queries["reserve"] = reservation_queries()
        n_tiers = 1 + 2 * args.rush_rounds
        log(f"ticket rush data: {args.rush_buyers} buyers with API tokens, {n_tiers} tiers of {args.rush_stock}")
        prepared = prepare(args.rush_buyers, args.rush_stock, tokens_file, rounds=n_tiers)

    load_before = os.getloadavg()
    landing = rounds = None
    try:
        with production_server(env, port, args.web_workers) as server:
            log(f"load: GET {PING_PATH}  ({args.concurrency} connections, {args.warmup:g}+{args.duration:g} s)")
            ping = load(port, PING_PATH, args)
            if "http" in selected:
                log(f"load: GET {LANDING_PATH}  ({args.concurrency} connections, {args.warmup:g}+{args.duration:g} s)")
                landing = load(port, LANDING_PATH, args)
            if prepared:
                rounds = []
                for n, tier in enumerate(prepared["tiers"]):
                    side = "" if n == 0 else (PING_PATH if n % 2 else HEALTHZ_PATH)
                    log(f"ticket rush {'warm-up' if n == 0 else n}: {args.rush_buyers} buyers, {args.rush_in_flight} "
                        f"in flight, {args.rush_stock} tickets{', side load ' + side if side else ''}")
                    r = rush_load(port, tier, prepared["tokens_files"][n], args.rush_in_flight, side)
                    if n:
                        rounds.append(r)
            log(f"load: GET {PING_PATH} again, the baseline's check ({args.concurrency} connections, "
                f"{args.warmup:g}+{args.duration:g} s)")
            ping_again = load(port, PING_PATH, args)
            errors = server_errors(Path(server.log.name).read_text(errors="replace"))
    finally:
        for f in (prepared or {}).get("tokens_files", [tokens_file]):
            f.unlink(missing_ok=True)
    load_after = os.getloadavg()
    conditions = (
        f"Loopback {HOST}, {args.concurrency} keep-alive connections, {args.warmup:g} s warm-up then "
        f"{args.duration:g} s measured per endpoint (ping first, then landing, the rush rounds, ping again; same "
        f"server). Server as "
        f"deploy/Procfile runs it: python -m microstage.serve microstage.asgi:application --workers "
        f"{args.web_workers} (uvicorn's server, a listening socket per worker) --lifespan off "
        f"(--no-access-log), MICROSTAGE_DEBUG=false, static files by whitenoise from the finders, no TLS redirect "
        f"(loopback, no proxy), one Celery worker (concurrency 1) and beat running; database connection pool of "
        f"{env.get('MICROSTAGE_DB_POOL_MAX', '20 (default)')} per process, database "
        f"{where(env.get('DATABASE_URL', ''))}, Redis {where(env.get('REDIS_URL', ''))}. Load generator: "
        f"bench/http_load.py / bench/ticket_rush.py (aiohttp), a separate process on the same "
        f"{os.cpu_count()}-CPU machine, which other work shares (loadavg 1 min {load_before[0]:.2f} before, "
        f"{load_after[0]:.2f} after): absolute numbers are noisy; compare ratios within one run."
    )
    status = 0
    if landing is not None:
        results.update(build(ping, landing, queries, conditions))
        if ping["error_count"] or landing["error_count"]:
            log(f"WARNING: non-200 responses: ping {ping['errors']}, landing {landing['errors']}")
    else:
        results.update({k: v for k, v in build(ping, ping, queries, conditions).items() if k.startswith("ping")})
    results["ping_again_rps"] = baseline_check(ping, ping_again, conditions)
    if rounds:
        from .ticket_rush import verify

        dbs = [verify(tier, args.rush_stock) for tier in prepared["tiers"][1:]]
        results.update(build_rush(rounds, dbs, prepared, ping, conditions, errors, queries))
        exact, refused = results["rush_sold_exactly_stock"], results["rush_sold_out"]
        q = queries["reserve"]
        print(f"queries: per landing view {queries['landing']['warm']}, per reservation (201) {q['sale']}, "
              f"per sold_out refusal {q['refusal']} (first refusal {q['first_refusal']})")
        print(f"ticket rush, exactly {args.rush_stock} sold: {exact['notes']}")
        print(f"ticket rush, everyone else a clean sold_out: {refused['notes'].split(' TICKET RUSH')[0]}")
        status = 0 if exact["pass"] and refused["pass"] else 1
    return status, conditions


if __name__ == "__main__":
    try:
        sys.exit(main())
    except KeyboardInterrupt:
        log("interrupted; server stopped")
        sys.exit(130)
