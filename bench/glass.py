"""Glass-to-glass latency of the live picture (`glass_to_glass_s`).

    python -m bench.glass [--seconds 24] [--tick 0.25]    (merges into bench/results.json)

What is measured, on the production path:
1. A "camera" (this process) writes 1280x720 30 fps raw frames (a looping testsrc2 pattern, made
   beforehand) into the stdin of the production ladder ffmpeg (streaming/media.py hls_command via
   run_ladder: 720p/480p/360p, x264 MICROSTAGE_X264_PRESET tuned for zero latency as live input is,
   keyframes every 2 s), paced in real
   time. Frame i's capture time is the wall clock when it was due (start + i/30): the moment it
   enters the encoder's input (if the encoder fell behind, the queue it waits in is counted too).
   Frame i has pts i/30, so it lies in segment floor(i/60).
2. run_ladder's on_tick is the production StorageSync (copy finished segments, then playlists, to
   storage); the playlist a player fetches is the stored one. A poller reads the stored 720p
   playlist every 10 ms and notes when segment k first appears: every frame of segment k is
   playable from then on.
3. Frame latency = playable time - capture time. Glass-to-glass = median frame latency + the
   player's configured live buffer (static/js/lib/player.js: hls.js liveSyncDurationCount x segment
   duration), i.e. how far behind the live edge hls.js starts playing.
The first two segments (encoder start-up) are left out. No audio (the camera is video-only).
Baseline from the same run: the segment duration itself (a segment cannot be listed before its
last frame was captured).
"""
from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

BASE_DIR = Path(__file__).resolve().parent.parent
if str(BASE_DIR) not in sys.path:
    sys.path.insert(0, str(BASE_DIR))
RESULTS = Path(__file__).resolve().parent / "results.json"
W, H, FPS = 1280, 720, 30
HLSJS_DEFAULT_LIVE_SYNC_COUNT = 3


def player_live_sync_count() -> float:
    """liveSyncDurationCount as the player (lib/player.js) configures hls.js (hls.js's default, 3, when unset)."""
    import re

    text = (BASE_DIR / "static" / "js" / "lib" / "player.js").read_text()
    match = re.search(r"liveSyncDurationCount:\s*([0-9.]+)", text)
    return float(match[1]) if match else float(HLSJS_DEFAULT_LIVE_SYNC_COUNT)


def run(seconds: float = 24.0, tick: float | None = None) -> dict:
    from django.conf import settings

    if not settings.configured:  # only FileSystemStorage is used: no database, no project settings
        settings.configure()
    from django.core.files.storage import FileSystemStorage

    from streaming import media

    seg = media.SEGMENT_SECONDS
    tick = media.LIVE_SYNC_SECONDS if tick is None else tick
    ff = media.ffmpeg_exe()
    with tempfile.TemporaryDirectory(prefix="ms-bench-glass-") as tmp:
        work = Path(tmp)
        loop = subprocess.run([ff, "-v", "error", "-f", "lavfi", "-i", f"testsrc2=size={W}x{H}:rate={FPS}",
                               "-frames:v", str(FPS * 2), "-f", "rawvideo", "-pix_fmt", "yuv420p", "pipe:1"],
                              check=True, capture_output=True).stdout
        size = W * H * 3 // 2
        frames = [loop[i:i + size] for i in range(0, len(loop), size)]
        source = media.Source(args=["-f", "rawvideo", "-pix_fmt", "yuv420p", "-s", f"{W}x{H}", "-r", str(FPS),
                                    "-i", "pipe:0"], audio=None, height=H, fps=float(FPS), live=True,
                              stats=False)
        hls_dir = work / "hls"
        hls_dir.mkdir()
        storage = FileSystemStorage(location=work / "storage")
        sync = media.StorageSync(hls_dir, storage, "live")
        total = int(seconds * FPS)
        start = {"t": None}
        late = {"max": 0.0}
        listed: dict[int, float] = {}
        written: dict[int, float] = {}  # ffmpeg's own playlist (before the copy to storage)
        done = threading.Event()

        # run_ladder owns the ffmpeg process; the camera feeds its stdin through a FIFO.
        fifo = work / "camera.yuv"
        os.mkfifo(fifo)
        source.args[-1] = str(fifo)

        def camera():
            with open(fifo, "wb", buffering=0) as out:
                start["t"] = time.time()
                for i in range(total):
                    due = start["t"] + i / FPS
                    wait = due - time.time()
                    if wait > 0:
                        time.sleep(wait)
                    else:
                        late["max"] = max(late["max"], -wait)
                    out.write(frames[i % len(frames)])

        def poller():
            pairs = ((Path(storage.location) / "live" / "720p" / media.VARIANT_PLAYLIST, listed),
                     (hls_dir / "720p" / media.VARIANT_PLAYLIST, written))
            while not done.is_set():
                for playlist, seen in pairs:
                    try:
                        text = playlist.read_text()
                    except OSError:
                        text = ""
                    now = time.time()
                    for k, _ in enumerate(media.playlist_entries(text)):
                        seen.setdefault(k, now)
                time.sleep(0.01)

        threads = [threading.Thread(target=camera, daemon=True), threading.Thread(target=poller, daemon=True)]
        for t in threads:
            t.start()
        argv_cmd = media.hls_command(source, hls_dir)
        outcome = media.run_ladder(source, hls_dir, on_tick=sync.sync, tick_every=tick)
        sync.sync()
        time.sleep(0.1)
        done.set()
        for t in threads:
            t.join(5)
    t0 = start["t"]
    latencies, worst = [], []
    segments = total // (FPS * seg)
    for k in range(2, segments):
        if k not in listed:
            continue
        per = [listed[k] - (t0 + i / FPS) for i in range(k * FPS * seg, (k + 1) * FPS * seg)]
        latencies += per
        worst.append(max(per))
    if not latencies:
        raise RuntimeError(f"no segment was listed (ffmpeg exit {outcome.returncode}: {outcome.errors[-3:]})")
    sync_delay = statistics.median([listed[k] - written[k] for k in listed if k in written and k >= 2])
    count = player_live_sync_count()
    buffer_s = count * seg
    median = statistics.median(latencies)
    last_frame = statistics.median([w - seg + 1 / FPS for w in worst])  # last frame of each segment
    load = os.getloadavg()[0]
    tune = " -tune zerolatency" if "zerolatency" in argv_cmd else ""
    conditions = (f"{seconds:g} s of 1280x720 30 fps raw camera frames into the production ladder "
                  f"({'+'.join(r.name for r in media.ladder_for(H))}, x264 {media.PRESET}{tune}, {seg} s segments), "
                  f"storage sync every {tick:g} s, stored 720p playlist polled every 10 ms; {len(worst)} segments "
                  f"measured (first 2 left out); camera fell behind its clock by at most {late['max']:.2f} s; "
                  f"{os.cpu_count()} CPUs, loadavg 1 min {load:.2f}; ffmpeg argv has {len(argv_cmd)} args")
    return {
        "glass_to_glass_s": {
            "value": round(median + buffer_s, 2), "unit": "s", "baseline": float(seg),
            "ratio": round((median + buffer_s) / seg, 2),
            "notes": f"median capture->playable {median:.2f} s (worst frame of a segment, its first: median "
                     f"{statistics.median(worst):.2f} s; last frame {last_frame:.2f} s; of which copying to storage "
                     f"{sync_delay:.2f} s) + player live buffer "
                     f"hls.js liveSyncDurationCount {count:g} x {seg} s = {buffer_s:g} s. Baseline = the segment "
                     f"duration. Goal <= 5 s. {conditions}."},
        "glass_capture_to_playable_s": {
            "value": round(median, 2), "unit": "s", "baseline": float(seg), "ratio": round(median / seg, 2),
            "notes": f"median over frames of (stored playlist lists the frame's segment - frame captured), "
                     f"without the player buffer. {conditions}."},
    }


def merge(results: dict) -> None:
    current = json.loads(RESULTS.read_text()) if RESULTS.exists() else {}
    current.update(results)
    RESULTS.write_text(json.dumps(current, indent=2) + "\n")


def main() -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.glass", description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=24.0)
    parser.add_argument("--tick", type=float, default=None, help="storage sync interval (default: production)")
    parser.add_argument("--no-save", action="store_true")
    args = parser.parse_args()
    results = run(args.seconds, args.tick)
    print(json.dumps(results, indent=2))
    if not args.no_save:
        merge(results)
    return 0


if __name__ == "__main__":
    sys.exit(main())
