"""Transcoding speed of the HLS ladder (× real time) against a stream-copy remux of the same input.

    python -m bench.transcode [--seconds 20]      (also part of `make bench`)

A 1280x720 30 fps H.264/AAC test clip is made first (not timed). Then, in the same run and on the
same input: the baseline remuxes it to 2-second HLS segments with `-c copy` (no decoding), and the
ladder (streaming/media.py's hls_command: 720p, 480p, 360p and audio-only, keyframes every 2 s, x264
preset MICROSTAGE_X264_PRESET, default veryfast) transcodes it. Speed = input seconds / wall seconds.
No Django or database needed.
"""
from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

BASE_DIR = Path(__file__).resolve().parent.parent
if str(BASE_DIR) not in sys.path:
    sys.path.insert(0, str(BASE_DIR))

from streaming import media  # noqa: E402 - ffmpeg command lines only, no Django


def _timed(argv: list[str]) -> tuple[float, float]:
    """(wall seconds, CPU seconds of the child)."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    subprocess.run(argv, check=True, capture_output=True)
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return wall, (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)


def run(seconds: float = 20.0) -> dict:
    ff = media.ffmpeg_exe()
    with tempfile.TemporaryDirectory(prefix="ms-bench-transcode-") as tmp:
        work = Path(tmp)
        clip = work / "input.mp4"
        subprocess.run([ff, "-v", "error", "-f", "lavfi", "-i", f"testsrc2=size=1280x720:rate=30:duration={seconds:g}",
                        "-f", "lavfi", "-i", f"sine=frequency=440:duration={seconds:g}", "-c:v", "libx264",
                        "-preset", "veryfast", "-b:v", "3000k", "-g", "60", "-c:a", "aac", "-b:a", "128k",
                        "-shortest", str(clip)], check=True)
        copy_dir = work / "copy"
        copy_dir.mkdir()
        remux = [ff, "-v", "error", "-nostdin", "-y", "-i", str(clip), "-c", "copy", "-f", "hls", "-hls_time", "2",
                 "-hls_list_size", "0", "-hls_playlist_type", "vod", str(copy_dir / "index.m3u8")]
        copy_wall, copy_cpu = _timed(remux)
        source = media.probe(media.file_source(clip))
        ladder = media.hls_command(source, work / "ladder")
        ladder = [a for a in ladder if a not in ("-progress", "pipe:1")]  # nobody reads progress here
        (work / "ladder").mkdir()
        ladder_wall, ladder_cpu = _timed(ladder)
        rungs = sorted(p.parent.name for p in (work / "ladder").glob("*/index.m3u8"))
        ok = media.decode_errors(str(work / "ladder" / media.MASTER)) == ""
    copy_x, ladder_x = seconds / copy_wall, seconds / ladder_wall
    load = os.getloadavg()[0]
    conditions = (f"{seconds:g} s 1280x720 30 fps H.264 3 Mbit/s + AAC input (testsrc2), imageio-ffmpeg "
                  f"{media.ffmpeg_exe().rsplit('-', 1)[-1]}, {os.cpu_count()} CPUs, loadavg 1 min {load:.2f}")
    return {
        "transcode_remux_x_realtime": {
            "value": round(copy_x, 1), "unit": "x realtime", "baseline": None, "ratio": None,
            "notes": f"BASELINE: stream-copy remux of the input to 2 s HLS segments ({copy_wall:.2f} s wall, "
                     f"{copy_cpu:.2f} s CPU). {conditions}."},
        "transcode_ladder_x_realtime": {
            "value": round(ladder_x, 2), "unit": "x realtime", "baseline": round(copy_x, 1),
            "ratio": round(ladder_x / copy_x, 4),
            "notes": f"HLS ladder {'+'.join(rungs)} in one ffmpeg (x264 preset {media.PRESET}, keyframes every "
                     f"{media.SEGMENT_SECONDS} s, no scene cuts): {ladder_wall:.2f} s wall, {ladder_cpu:.2f} s CPU "
                     f"for {seconds:g} s of input; > 1 x realtime means a live stream keeps up on this machine. "
                     f"Output decodes cleanly: {ok}. Baseline = transcode_remux_x_realtime; ratio = ladder speed "
                     f"/ remux speed. {conditions}."},
    }


def main() -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.transcode", description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=20.0)
    args = parser.parse_args()
    print(json.dumps(run(args.seconds), indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
