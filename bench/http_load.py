"""Closed-loop HTTP load generator over keep-alive connections; prints one JSON object to stdout.

    python -m bench.http_load http://127.0.0.1:8123/api/v1/ping --concurrency 16 --duration 10 --warmup 2

Runs in its own process so it competes for the CPU with the server the way a real client would
not get to avoid. Each of `concurrency` workers sends a request, reads the whole body, and sends
the next one (no pipelining). Only requests *started* after the warm-up and *finished* before the
end of the measured window count; only 200 responses count as successes, everything else is
tallied under "errors". Latency is wall time from send to last body byte, in milliseconds.
"""
from __future__ import annotations

import argparse
import asyncio
import json
import math
import sys
import time
from collections import Counter
from urllib.parse import urlsplit

import aiohttp

MAX_REQUESTS = 2_000_000  # hard bound on requests per run, whatever the duration
REQUEST_TIMEOUT = 10.0


def percentile(sorted_values: list[float], pct: float) -> float | None:
    """Nearest-rank percentile of an already sorted list."""
    if not sorted_values:
        return None
    rank = max(1, min(len(sorted_values), math.ceil(pct / 100 * len(sorted_values))))
    return sorted_values[rank - 1]


async def run(url: str, concurrency: int, duration: float, warmup: float) -> dict:
    latencies: list[float] = []
    errors: Counter[str] = Counter()
    sent = 0
    loop = asyncio.get_running_loop()
    t0 = loop.time()
    measure_from, stop_at = t0 + warmup, t0 + warmup + duration

    connector = aiohttp.TCPConnector(limit=concurrency, force_close=False, ttl_dns_cache=None)
    timeout = aiohttp.ClientTimeout(total=REQUEST_TIMEOUT)
    async with aiohttp.ClientSession(connector=connector, timeout=timeout, auto_decompress=False) as session:

        async def worker() -> None:
            nonlocal sent
            while sent < MAX_REQUESTS:
                start = loop.time()
                if start >= stop_at:
                    return
                sent += 1
                try:
                    async with session.get(url, allow_redirects=False) as resp:
                        await resp.read()
                        status = resp.status
                except (TimeoutError, aiohttp.ClientError) as exc:
                    status = type(exc).__name__
                end = loop.time()
                if start < measure_from or end > stop_at:
                    continue  # warm-up, or spilled past the window
                if status == 200:
                    latencies.append((end - start) * 1000)
                else:
                    errors[str(status)] += 1

        await asyncio.gather(*(worker() for _ in range(concurrency)))

    latencies.sort()
    ok = len(latencies)
    return {
        "url": url,
        "concurrency": concurrency,
        "warmup_s": warmup,
        "duration_s": duration,
        "ok": ok,
        "errors": dict(errors),
        "error_count": sum(errors.values()),
        "requests_per_s": ok / duration if duration else 0.0,
        "p50_ms": percentile(latencies, 50),
        "p99_ms": percentile(latencies, 99),
        "max_ms": latencies[-1] if latencies else None,
        "sent_total": sent,
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.http_load")
    parser.add_argument("url")
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument("--duration", type=float, default=10.0, help="measured seconds")
    parser.add_argument("--warmup", type=float, default=2.0, help="seconds sent but not counted")
    args = parser.parse_args(argv)
    parts = urlsplit(args.url)
    if parts.scheme != "http" or parts.hostname != "127.0.0.1":
        parser.error("only http://127.0.0.1 is a permitted target")
    if not (1 <= args.concurrency <= 256 and 0 < args.duration <= 600 and 0 <= args.warmup <= 60):
        parser.error("concurrency 1..256, duration 0..600 s, warmup 0..60 s")
    started = time.monotonic()
    result = asyncio.run(run(args.url, args.concurrency, args.duration, args.warmup))
    result["wall_s"] = round(time.monotonic() - started, 3)
    json.dump(result, sys.stdout)
    sys.stdout.write("\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
