"""Media delivery: HLS segments for 300 viewers, and a 200 MB file's cost to the web process.

    python -m bench.media            (needs DATABASE_URL / REDIS_URL; merges into bench/results.json)

Production shape: the web process as deploy/Procfile runs it (microstage.serve: uvicorn in 2 worker
processes, debug off) behind nginx with
the /_media/ internal location (deploy/nginx-devweb.conf, the same as deploy/nginx-web.conf), and
MICROSTAGE_MEDIA_ACCEL=nginx. A recording with ten 2 s segments (720p-sized, 700 KB of bytes each)
and a 200 MB file sits in a temporary MEDIA_ROOT; a playback token is signed for its event.

- `hls_segment_p99_ms`: 300 simulated viewers (one aiohttp load process, its own connection each)
  fetch the next segment every 2 s for `--duration` s, as players of a live stream do, through the
  token check; p99 of the whole fetch (body read). Baseline: the same 300 viewers fetching the same
  segment files from the same nginx directly (a static location of the bench's nginx only, no
  Django), in the same run; so the ratio is what the token check and the Python request cycle add
  on top of moving the bytes. GET /api/v1/ping under the same viewer pattern is a second reference
  (in the notes), and so is the uvicorn processes' CPU time per segment request (user + system,
  from /proc), which the machine's load does not move the way it moves a p99.
- `media_download_rss_growth_mb`: the 200 MB file fetched (a) through nginx (X-Accel-Redirect) and
  (b) straight from a uvicorn running MICROSTAGE_MEDIA_ACCEL=off (async chunked stream); the web
  processes' summed RSS is sampled every 20 ms during the download; the figure is the worse (b)
  growth; baseline = the file size.
"""
from __future__ import annotations

import argparse
import asyncio
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from pathlib import Path

BASE_DIR = Path(__file__).resolve().parent.parent
RESULTS = Path(__file__).resolve().parent / "results.json"
HOST = "127.0.0.1"
SEGMENT_BYTES = 700 * 1024
BIG_BYTES = 200 * 1024 * 1024
WARMUP_SECONDS = 4.0


def free_port() -> int:
    with socket.socket() as s:
        s.bind((HOST, 0))
        return s.getsockname()[1]


def prepare(media_root: Path) -> dict:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "microstage.settings")
    import django

    django.setup()
    from streaming import playback
    from streaming.models import LiveStream, Recording

    from .chat_fanout import prepare as prepare_event

    event_id = prepare_event()["event"]
    stream = LiveStream.objects.get(event_id=event_id)
    rec = Recording.objects.create(stream=stream, source=Recording.Source.LIVE, status=Recording.Status.RECORDING)
    prefix = f"bench-media/{rec.pk}/hls"
    variant = media_root / prefix / "720p"
    variant.mkdir(parents=True)
    block = os.urandom(SEGMENT_BYTES)
    lines = ["#EXTM3U", "#EXT-X-VERSION:3", "#EXT-X-TARGETDURATION:2", "#EXT-X-MEDIA-SEQUENCE:0"]
    for k in range(10):
        (variant / f"seg_{k:05d}.ts").write_bytes(block)
        lines += ["#EXTINF:2.000000,", f"seg_{k:05d}.ts"]
    (variant / "index.m3u8").write_text("\n".join(lines) + "\n")
    chunk = os.urandom(1024 * 1024)
    with open(media_root / prefix / "big.mp4", "wb") as fh:
        for _ in range(BIG_BYTES // len(chunk)):
            fh.write(chunk)
    Recording.objects.filter(pk=rec.pk).update(hls_prefix=prefix)
    token, _ = playback.make_token(event_id)
    return {"base": f"/streaming/hls/{event_id}/{token}/{rec.pk}", "direct": f"{DIRECT}{prefix}"}


DIRECT = "/_bench_direct/"  # the bench's nginx only: MEDIA_ROOT served as static files, no Django


def add_direct_location(conf: Path, media_root: Path) -> None:
    """Give the bench's nginx a public static location over MEDIA_ROOT (the same-run baseline: the
    same bytes, the same nginx, no token check). Never in a deployed config: media is only reachable
    through Django's checks there."""
    text = conf.read_text()
    anchor = "        location /_media/ {"
    assert anchor in text, "deploy/nginx-devweb.conf no longer has the /_media/ location"
    block = (f"        location {DIRECT} {{\n            alias {str(media_root).rstrip('/')}/;\n"
             f"            sendfile on;\n"
             f"            add_header Access-Control-Allow-Origin \"*\" always;\n        }}\n\n")
    conf.write_text(text.replace(anchor, block + anchor, 1))


class Web:
    """The web process as deploy/Procfile runs it (microstage.serve, debug off), optionally behind the
    development nginx."""

    def __init__(self, env: dict, *, workers: int, nginx: bool, media_root: Path, tmp: Path):
        self.port = free_port()
        self.upstream = free_port() if nginx else self.port
        self.procs: list[subprocess.Popen] = []
        argv = [sys.executable, "-m", "microstage.serve", "microstage.asgi:application", "--host", HOST,
                "--port", str(self.upstream), "--lifespan", "off", "--no-access-log", "--workers", str(workers)]
        self.procs.append(subprocess.Popen(argv, cwd=BASE_DIR, env=env, stdout=subprocess.DEVNULL,
                                           stderr=subprocess.DEVNULL, start_new_session=True))
        if nginx:
            from microstage.devstack import render_nginx_web

            conf = render_nginx_web(tmp / f"nginx-{self.port}", port=str(self.port),
                                    upstream_port=str(self.upstream), media_root=media_root)
            add_direct_location(conf, media_root)
            nginx_bin = shutil.which("nginx") or "/usr/sbin/nginx"
            self.procs.append(subprocess.Popen([nginx_bin, "-p", f"{conf.parent}/", "-e", str(conf.parent / "e.log"),
                                                "-c", str(conf)], start_new_session=True))
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                with urllib.request.urlopen(f"http://{HOST}:{self.port}/api/v1/ping", timeout=2) as r:
                    if r.status == 200:
                        return
            except OSError:
                time.sleep(0.3)
        raise RuntimeError("the web server did not start")

    def web_pids(self) -> list[int]:
        root = self.procs[0].pid
        kids = subprocess.run(["pgrep", "-P", str(root)], capture_output=True, text=True).stdout.split()
        return [root, *map(int, kids)]

    def stop(self) -> None:
        for p in reversed(self.procs):
            if p.poll() is None:
                p.send_signal(signal.SIGTERM)
                try:
                    p.wait(10)
                except subprocess.TimeoutExpired:
                    p.kill()


def rss_mb(pids: list[int]) -> float:
    total = 0
    for pid in pids:
        try:
            with open(f"/proc/{pid}/status") as fh:
                total += next(int(ln.split()[1]) for ln in fh if ln.startswith("VmRSS:"))
        except (OSError, StopIteration):
            pass
    return total / 1024


def cpu_seconds(pids: list[int]) -> float:
    """User + system CPU time the processes have used so far."""
    total = 0
    for pid in pids:
        try:
            with open(f"/proc/{pid}/stat") as fh:
                fields = fh.read().rsplit(")", 1)[1].split()
            total += int(fields[11]) + int(fields[12])  # utime, stime (fields 14 and 15 of stat)
        except (OSError, IndexError, ValueError):
            pass
    return total / os.sysconf("SC_CLK_TCK")


def download_growth(web: Web, url: str) -> tuple[float, int]:
    pids = web.web_pids()
    before, peak = rss_mb(pids), 0.0
    stop = threading.Event()

    def sample():
        nonlocal peak
        while not stop.is_set():
            peak = max(peak, rss_mb(pids) - before)
            time.sleep(0.02)

    t = threading.Thread(target=sample, daemon=True)
    t.start()
    got = 0
    with urllib.request.urlopen(url, timeout=300) as r:
        while data := r.read(1024 * 1024):
            got += len(data)
    stop.set()
    t.join()
    return peak, got


def viewers(url_for, n: int, duration: float, port: int) -> dict:
    """Run the load process: n viewers, each GET every 2 s; returns latencies (ms)."""
    argv = [sys.executable, "-m", "bench.media", "--load", json.dumps({"urls": url_for, "n": n, "duration": duration,
                                                                       "port": port})]
    out = subprocess.run(argv, cwd=BASE_DIR, capture_output=True, text=True, check=True, timeout=duration + 120)
    return json.loads(out.stdout.strip().splitlines()[-1])


async def _load(spec: dict) -> dict:
    import aiohttp

    urls, n, duration, port = spec["urls"], spec["n"], spec["duration"], spec["port"]
    lat: list[float] = []
    errors = 0

    async def viewer(i: int, session):
        nonlocal errors
        await asyncio.sleep((i % 100) * 0.02)  # players do not all tick at once
        end = time.monotonic() + duration
        k = i
        while time.monotonic() < end:
            tick = time.monotonic()
            t0 = time.perf_counter()
            try:
                async with session.get(f"http://{HOST}:{port}{urls[k % len(urls)]}") as r:
                    await r.read()
                    if r.status != 200:
                        errors += 1
            except aiohttp.ClientError:
                errors += 1
            lat.append((time.perf_counter() - t0) * 1000)
            k += 1
            await asyncio.sleep(max(0.0, 2.0 - (time.monotonic() - tick)))

    conn = aiohttp.TCPConnector(limit=0)
    async with aiohttp.ClientSession(connector=conn, timeout=aiohttp.ClientTimeout(total=60)) as session:
        await asyncio.gather(*(viewer(i, session) for i in range(n)))
    return {"lat": lat, "errors": errors}


def pct(values: list[float], p: float) -> float:
    s = sorted(values)
    return s[min(len(s) - 1, int(round(p / 100 * (len(s) - 1))))]


def run(duration: float = 20.0, n: int = 300) -> dict:
    load_start = os.getloadavg()[0]
    tmp = Path(tempfile.mkdtemp(prefix="ms-bench-media-"))
    media_root = tmp / "media"
    media_root.mkdir()
    os.environ["MICROSTAGE_MEDIA_ROOT"] = str(media_root)
    os.environ.setdefault("MICROSTAGE_SECRET_KEY", "bench-only-secret-key-0123456789")
    try:
        prepared = prepare(media_root)
        env = {**os.environ, "MICROSTAGE_DEBUG": "false", "MICROSTAGE_MEDIA_ROOT": str(media_root),
               "MICROSTAGE_SECRET_KEY": os.environ.get("MICROSTAGE_SECRET_KEY", "bench-only-secret-key-0123456789"),
               "MICROSTAGE_SECURE_SSL_REDIRECT": "false", "MICROSTAGE_SECURE_COOKIES": "false",
               "MICROSTAGE_STATIC_MANIFEST": "false", "MICROSTAGE_MEDIA_ACCEL": "nginx"}
        base = prepared["base"]
        segs = [f"{base}/720p/seg_{k:05d}.ts" for k in range(10)]
        direct_segs = [f"{prepared['direct']}/720p/seg_{k:05d}.ts" for k in range(10)]
        web = Web(env, workers=2, nginx=True, media_root=media_root, tmp=tmp)
        try:
            # Warm-up (not counted): every process opens its database connection and fills its
            # caches, nginx opens its upstream connections; then the three phases, same viewers.
            viewers([*segs, *direct_segs, "/api/v1/ping"], n, WARMUP_SECONDS, web.port)
            static = viewers(direct_segs, n, duration, web.port)
            cpu0 = cpu_seconds(web.web_pids())
            seg = viewers(segs, n, duration, web.port)
            seg_cpu_ms = (cpu_seconds(web.web_pids()) - cpu0) * 1000 / max(1, len(seg["lat"]))
            ping = viewers(["/api/v1/ping"], n, duration, web.port)
            nginx_growth, got_a = download_growth(web, f"http://{HOST}:{web.port}{base}/big.mp4")
        finally:
            web.stop()
        direct = Web({**env, "MICROSTAGE_MEDIA_ACCEL": "off"}, workers=1, nginx=False, media_root=media_root,
                     tmp=tmp)
        try:
            off_growth, got_b = download_growth(direct, f"http://{HOST}:{direct.port}{base}/big.mp4")
        finally:
            direct.stop()
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    load = os.getloadavg()[0]
    cond = (f"microstage.serve --workers 2 (uvicorn), debug off, behind nginx (/_media/ internal, "
            f"X-Accel-Redirect); {n} viewers in one aiohttp process, one GET every 2 s each for {duration:g} s; "
            f"{os.cpu_count()} CPUs shared with "
            f"other work, loadavg 1 min {load_start:.2f} at the start, {load:.2f} at the end")
    p99_ping, p99_static, p99_seg = pct(ping["lat"], 99), pct(static["lat"], 99), pct(seg["lat"], 99)
    return {
        "hls_segment_p99_ms": {
            "value": round(p99_seg, 1), "unit": "ms", "baseline": round(p99_static, 1),
            "ratio": round(p99_seg / p99_static, 2),
            "notes": f"p99 of fetching a 700 KB 2 s segment (token check in Django, bytes by nginx): "
                     f"{len(seg['lat'])} fetches, {seg['errors']} errors, p50 {pct(seg['lat'], 50):.1f} ms; "
                     f"the uvicorn processes spent {seg_cpu_ms:.2f} ms of CPU per segment request. Baseline: "
                     f"the same segment files from the same nginx as static files, no Django "
                     f"({len(static['lat'])} fetches, {static['errors']} errors, p50 {pct(static['lat'], 50):.1f} ms). "
                     f"Second reference: GET /api/v1/ping under the same viewer pattern, p99 {p99_ping:.1f} ms "
                     f"(ratio {p99_seg / p99_ping:.2f}; {len(ping['lat'])} fetches, {ping['errors']} errors, "
                     f"p50 {pct(ping['lat'], 50):.1f} ms). After a 4 s warm-up; order: static, segments, ping. "
                     f"{cond}."},
        "media_download_rss_growth_mb": {
            "value": round(max(off_growth, nginx_growth), 1), "unit": "MB", "baseline": BIG_BYTES / 2**20,
            "ratio": round(max(off_growth, nginx_growth) / (BIG_BYTES / 2**20), 3),
            "notes": f"peak growth of the web processes' summed RSS (sampled every 20 ms) while one client "
                     f"downloads a {BIG_BYTES // 2**20} MB file: {off_growth:.1f} MB with MICROSTAGE_MEDIA_ACCEL=off "
                     f"(uvicorn alone, async 256 KB chunks; {got_b} bytes received), {nginx_growth:.1f} MB with "
                     f"nginx (X-Accel-Redirect; {got_a} bytes). Baseline = the file size. Goal < 50 MB."},
    }


def merge(results: dict) -> None:
    current = json.loads(RESULTS.read_text()) if RESULTS.exists() else {}
    current.update(results)
    RESULTS.write_text(json.dumps(current, indent=2) + "\n")


def main() -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.media", description=__doc__.splitlines()[0])
    parser.add_argument("--duration", type=float, default=20.0)
    parser.add_argument("--viewers", type=int, default=300)
    parser.add_argument("--no-save", action="store_true")
    parser.add_argument("--load", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.load:
        print(json.dumps(asyncio.run(_load(json.loads(args.load)))))
        return 0
    results = run(args.duration, args.viewers)
    print(json.dumps(results, indent=2))
    if not args.no_save:
        merge(results)
    return 0


if __name__ == "__main__":
    sys.exit(main())
