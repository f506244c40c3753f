"""Clip cutting: time to cut a 60-second clip from a one-hour recording.

The hour is made once and cached under .data/bench/: one minute of a 640x360, 30 fps test pattern
with a sine tone (H.264 with a keyframe every 2 s, like the live ladder; AAC), stream-copied 60
times into one MP4 — cheap to make, and shaped like a real recording for a cutter.

Figures (each the median of --repeat runs, all from the same run and the same file):
- clip_cut_60s_s: streaming.cutting.cut() — the production path: smart cut (head and tail
  re-encoded, middle stream-copied, audio re-encoded once) plus the decode that verifies it.
  Baseline: a pure stream-copy cut of the same span (fast, but starts at the keyframe before
  the in-point: not frame-accurate).
- clip_cut_60s_reencode_s: the simple alternative, an accurate re-encode of the whole span (with
  the same verifying decode). Baseline: the same stream copy.

    python -m bench.clips            # prints JSON; bench/__main__.py merges it into results.json
"""
from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

BASE_DIR = Path(__file__).resolve().parent.parent
CACHE = BASE_DIR / ".data" / "bench"
START, LENGTH = 1800.37, 60.0  # off keyframes on purpose: the in-point needs a frame-accurate head


def ffmpeg() -> str:
    import imageio_ffmpeg

    return imageio_ffmpeg.get_ffmpeg_exe()


def hour_recording() -> Path:
    hour = CACHE / "hour-640x360.mp4"
    if hour.exists():
        return hour
    CACHE.mkdir(parents=True, exist_ok=True)
    minute = CACHE / "minute-640x360.mp4"
    subprocess.run([ffmpeg(), "-v", "error", "-y", "-f", "lavfi", "-i", "testsrc=size=640x360:rate=30",
                    "-f", "lavfi", "-i", "sine=frequency=440:sample_rate=48000", "-t", "60",
                    "-c:v", "libx264", "-preset", "veryfast", "-g", "60", "-keyint_min", "60", "-sc_threshold", "0",
                    "-pix_fmt", "yuv420p", "-c:a", "aac", "-b:a", "96k", str(minute)], check=True, timeout=600)
    tmp = hour.with_suffix(".part.mp4")
    subprocess.run([ffmpeg(), "-v", "error", "-y", "-stream_loop", "59", "-i", str(minute), "-c", "copy",
                    "-movflags", "+faststart", str(tmp)], check=True, timeout=600)
    tmp.rename(hour)
    return hour


def timed(fn) -> float:
    t = time.perf_counter()
    fn()
    return time.perf_counter() - t


def run(repeat: int = 3) -> dict:
    sys.path.insert(0, str(BASE_DIR))
    from streaming import cutting

    made = time.perf_counter()
    cached = (CACHE / "hour-640x360.mp4").exists()
    source = hour_recording()
    made = time.perf_counter() - made
    info = cutting.probe(str(source))
    end = START + LENGTH
    copy_s, smart_s, full_s, results = [], [], [], {}
    with tempfile.TemporaryDirectory(prefix="ms-bench-clip-") as tmp:
        out = Path(tmp)
        for _ in range(repeat):
            copy_s.append(timed(lambda: cutting.stream_copy_cut(str(source), START, end, out / "copy.mp4")))
            smart_s.append(timed(lambda: results.__setitem__("smart", cutting.cut(str(source), START, end,
                                                                                    out / "smart.mp4"))))
            full_s.append(timed(lambda: results.__setitem__("full", cutting.cut(str(source), START, end,
                                                                                  out / "full.mp4",
                                                                                  allow_smart=False))))
        copy_len = cutting.decoded_duration(str(out / "copy.mp4"))
        verify_s = timed(lambda: cutting.decoded_duration(str(out / "smart.mp4")))
    smart, full = results["smart"], results["full"]
    base = statistics.median(copy_s)
    setup = (f"60 s clip [{START}, {end}) from a {info.duration:.0f} s recording ({info.width}x{info.height}, "
             f"{info.fps:g} fps H.264, keyframe every 2 s, AAC; "
             f"{'cached' if cached else f'made in {made:.1f} s'} at .data/bench/). Median of {repeat} runs, "
             f"{os.cpu_count()} CPUs shared with other work (loadavg {os.getloadavg()[0]:.2f}). Baseline = pure "
             f"stream-copy cut of the same span, median {base:.3f} s (runs {[round(x, 3) for x in copy_s]}), "
             f"which lasts {copy_len:.3f} s and starts at the keyframe before the in-point, i.e. not accurate.")
    return {
        "clip_cut_60s_s": {
            "value": round(statistics.median(smart_s), 3), "unit": "s", "baseline": round(base, 3),
            "ratio": round(statistics.median(smart_s) / base, 3),
            "notes": f"streaming.cutting.cut(), method {smart.method}: {smart.notes}; output decodes to "
                     f"{smart.duration:.3f} s (asked {LENGTH:g}). Includes the verifying full decode of the "
                     f"output ({verify_s:.3f} s on its own). Runs {[round(x, 3) for x in smart_s]}. {setup}"},
        "clip_cut_60s_reencode_s": {
            "value": round(statistics.median(full_s), 3), "unit": "s", "baseline": round(base, 3),
            "ratio": round(statistics.median(full_s) / base, 3),
            "notes": f"The simple alternative: accurate re-encode of the whole span (libx264 veryfast crf 20), "
                     f"plus the same verifying decode; output {full.duration:.3f} s. Runs "
                     f"{[round(x, 3) for x in full_s]}. {setup}"},
    }


if __name__ == "__main__":
    print(json.dumps(run(int(sys.argv[1]) if len(sys.argv) > 1 else 3), indent=2))
