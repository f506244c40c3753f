"""ffmpeg work for clips and uploaded recordings: frame-accurate smart cuts, thumbnails, probing.

Plain functions over file paths (or URLs ffmpeg can read); nothing here touches the database.
ffmpeg comes from the imageio-ffmpeg wheel; there is no ffprobe, so facts are read from ffmpeg's
own output (`-i` banner, `showinfo`, `-progress`).

The smart cut of [start, end):

    start   K1 ─────────── stream copy ─────────── K2   end
    ├ head ─┤                                       ├ tail ┤
    re-encoded                                     re-encoded

K1 is the first keyframe at or after `start`, K2 the last keyframe at or before `end`. The head and
tail are re-encoded from exact frame positions (ffmpeg's accurate input seek decodes from the
keyframe before and drops frames until the exact time), the middle is copied packet for packet,
the three parts are joined by the concat demuxer as MPEG-TS (Annex B, so every part carries its
own SPS/PPS in band), and the audio of the whole span is re-encoded once — audio encoding is cheap
and one encode avoids AAC priming gaps at the joins. The output is verified (it decodes without
error and lasts what was asked, ± half a second); if not, or if the source is not H.264 or no
keyframe lies inside the span, the whole span is re-encoded instead (always accurate, slower).
"""
from __future__ import annotations

import re
import subprocess
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

Progress = Callable[[float], None]  # fraction 0..1 of the whole job

DURATION_TOLERANCE = 0.5  # seconds, what the clip may differ from what was asked
ENCODE_ARGS = ["-c:v", "libx264", "-preset", "veryfast", "-crf", "20", "-pix_fmt", "yuv420p"]
AUDIO_ARGS = ["-c:a", "aac", "-b:a", "128k"]
TIMEOUT = 60 * 60


class CutError(Exception):
    """ffmpeg failed or the input is not usable video; the message is safe to show the creator."""


def ffmpeg_exe() -> str:
    import imageio_ffmpeg

    return imageio_ffmpeg.get_ffmpeg_exe()


def _run(args: list[str], *, timeout: float = TIMEOUT) -> str:
    """Run ffmpeg, return its stderr; CutError with the last lines when it fails."""
    # An argv list to the wheel's ffmpeg, never a shell; inputs are storage paths/URLs we chose.
    proc = subprocess.run([ffmpeg_exe(), "-hide_banner", "-nostdin", *args],  # noqa: S603
                          capture_output=True, text=True, errors="replace", timeout=timeout)
    if proc.returncode != 0:
        tail = " | ".join(proc.stderr.strip().splitlines()[-3:])
        raise CutError(f"ffmpeg failed: {tail[:400]}")
    return proc.stderr


def _run_with_progress(args: list[str], duration: float, on_progress: Progress | None,
                       *, timeout: float = TIMEOUT) -> None:
    """Run ffmpeg with `-progress pipe:1` and report out_time / duration as it goes."""
    cmd = [ffmpeg_exe(), "-hide_banner", "-nostdin", "-progress", "pipe:1", "-nostats", *args]
    with tempfile.TemporaryFile() as err, \
            subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=err, text=True) as proc:  # noqa: S603
        try:
            for line in proc.stdout:
                key, _, value = line.strip().partition("=")
                if key == "out_time_us" and value.isdigit() and on_progress and duration > 0:
                    on_progress(min(1.0, int(value) / 1e6 / duration))
            proc.wait(timeout=timeout)
        except BaseException:
            proc.kill()
            raise
        if proc.returncode != 0:
            err.seek(0)
            tail = " | ".join(err.read().decode(errors="replace").strip().splitlines()[-3:])
            raise CutError(f"ffmpeg failed: {tail[:400]}")


# --- probing -----------------------------------------------------------------------------------

@dataclass
class Probe:
    duration: float | None
    start: float
    video_codec: str | None
    audio_codec: str | None
    width: int | None
    height: int | None
    fps: float | None


_DURATION = re.compile(r"Duration: (\d+):(\d\d):(\d\d(?:\.\d+)?), start: (-?[\d.]+)")
_VIDEO = re.compile(r"Stream #\d+:\d+[^:]*: Video: (\w+)[^\n]*?, (\d{2,5})x(\d{2,5})[^\n]*")
_FPS = re.compile(r", ([\d.]+)(k?) fps")
_AUDIO = re.compile(r"Stream #\d+:\d+[^:]*: Audio: (\w+)")


def probe(source: str) -> Probe:
    """Container duration, start time, codecs, size and frame rate, from ffmpeg's banner."""
    proc = subprocess.run([ffmpeg_exe(), "-hide_banner", "-nostdin", "-i", source],  # noqa: S603
                          capture_output=True, text=True, errors="replace", timeout=120)
    text = proc.stderr
    if "Invalid data found" in text or "No such file" in text:
        raise CutError("The file is not a video ffmpeg can read.")
    d = _DURATION.search(text)
    v = _VIDEO.search(text)
    a = _AUDIO.search(text)
    duration = int(d[1]) * 3600 + int(d[2]) * 60 + float(d[3]) if d else None
    return Probe(duration=duration, start=float(d[4]) if d else 0.0,
                 video_codec=v[1] if v else None, audio_codec=a[1] if a else None,
                 width=int(v[2]) if v else None, height=int(v[3]) if v else None,
                 fps=_fps(v[0]) if v else None)


def _fps(video_line: str) -> float | None:
    m = _FPS.search(video_line)
    return float(m[1]) * (1000 if m[2] else 1) if m else None


def decoded_duration(path: str, *, video_only: bool = False) -> float:
    """Decode the whole file (errors are fatal) and return how long its content lasts: the end time of
    the last decoded frame, which is what a viewer gets, not what the container header claims."""
    out = _run(["-v", "error", "-xerror", "-i", path, *(["-map", "0:v:0"] if video_only else []),
                "-f", "null", "-progress", "pipe:2", "-nostats", "-"])
    times = re.findall(r"out_time_us=(\d+)", out)
    if not times:
        raise CutError("The clip did not decode.")
    return int(times[-1]) / 1e6


def keyframes(source: str, start: float, end: float, clip_start: float = 0.0) -> list[float]:
    """Times (seconds from the start of the file) of the video keyframes in [start, end].

    Only keyframes are decoded (`-skip_frame nokey`), so this is fast even for long spans.
    """
    text = _run(["-skip_frame", "nokey", "-ss", f"{start:.6f}", "-t", f"{end - start + 0.1:.6f}", "-copyts",
                 "-i", source, "-map", "0:v:0", "-vf", "showinfo", "-f", "null", "-"])
    times = [float(t) - clip_start for t in re.findall(r"pts_time:\s*(-?[\d.]+)", text)]
    return sorted(t for t in times if start - 1e-3 <= t <= end + 1e-3)


# --- cutting -----------------------------------------------------------------------------------

@dataclass
class CutResult:
    path: Path
    duration: float  # measured by decoding the output
    method: str  # "smart" or "reencode"
    notes: str = ""


def _encode_span(source: str, start: float, length: float, out: Path, *, fps: float | None,
                 audio: bool, on_progress: Progress | None = None) -> None:
    # -ss before -i: seek to the keyframe before `start`, decode and drop up to exactly `start`.
    args = ["-y", "-ss", f"{start:.6f}", "-i", source, "-t", f"{length:.6f}", "-map", "0:v:0"]
    if audio:
        args += ["-map", "0:a:0?", *AUDIO_ARGS]
    else:
        args += ["-an"]
    # Keep the source's frame timestamps (no -r): the parts must line up with the copied middle.
    args += [*ENCODE_ARGS, "-fps_mode", "passthrough", "-sn", "-dn", str(out)]
    _run_with_progress(args, length, on_progress)


def reencode_cut(source: str, start: float, end: float, out: Path, *, fps: float | None = None,
                 on_progress: Progress | None = None) -> None:
    """Accurate by construction: decode from the keyframe before `start`, encode exactly [start, end)."""
    _encode_span(source, start, end - start, out, fps=fps, audio=True, on_progress=on_progress)


def smart_cut(source: str, start: float, end: float, out: Path, work: Path, info: Probe,
              on_progress: Progress | None = None) -> str:
    """Head and tail re-encoded, middle stream-copied (see the module docstring). Returns a note on
    how much was copied. Raises CutError when a smart cut does not apply."""
    report = on_progress or (lambda f: None)
    if info.video_codec != "h264" or not info.fps:
        raise CutError(f"smart cut needs H.264 at a known frame rate (got {info.video_codec}, {info.fps} fps)")
    frame = 1.0 / info.fps
    keys = keyframes(source, start, end, info.start)
    report(0.05)
    # A keyframe at `end` is the first frame after the clip: copying up to it leaves no tail.
    inside = [k for k in keys if start - frame / 2 <= k <= end + frame / 2]
    if len(inside) < 2:
        raise CutError("fewer than two keyframes inside the span: nothing to copy")
    k1, k2 = inside[0], inside[-1]
    parts: list[Path] = []
    if k1 - start >= frame / 2:
        head = work / "head.ts"
        _encode_span(source, start, k1 - start, head, fps=info.fps, audio=False,
                     on_progress=lambda f: report(0.05 + 0.2 * f))
        parts.append(head)
    report(0.25)
    # Middle: whole GOPs [k1, k2) copied. Seek a hair past k1 so the copy starts exactly at k1's
    # keyframe, and stop after the frame count of the span (closed GOPs: in decode order, these are
    # exactly the frames before k2's keyframe — a time limit would be applied to decode timestamps).
    middle = work / "middle.ts"
    frames = round((k2 - k1) * info.fps)
    _run(["-y", "-ss", f"{k1 + frame / 4:.6f}", "-i", source, "-map", "0:v:0", "-an", "-sn", "-dn", "-c", "copy",
          "-frames:v", str(frames), str(middle)])
    parts.append(middle)
    report(0.45)
    if end - k2 >= frame / 2:
        tail = work / "tail.ts"
        _encode_span(source, k2, end - k2, tail, fps=info.fps, audio=False,
                     on_progress=lambda f: report(0.45 + 0.2 * f))
        parts.append(tail)
    report(0.65)
    has_audio = info.audio_codec is not None
    if has_audio:
        audio = work / "audio.m4a"
        _run(["-y", "-ss", f"{start:.6f}", "-i", source, "-t", f"{end - start:.6f}", "-map", "0:a:0", "-vn",
              *AUDIO_ARGS, str(audio)])
    report(0.75)
    listing = work / "parts.txt"
    listing.write_text("".join(f"file '{p.name}'\n" for p in parts))
    args = ["-y", "-f", "concat", "-safe", "0", "-i", str(listing)]
    if has_audio:
        args += ["-i", str(audio), "-map", "0:v:0", "-map", "1:a:0", "-shortest"]
    args += ["-c", "copy", "-movflags", "+faststart", str(out)]
    _run(args)
    report(0.85)
    copied = k2 - k1
    return f"copied {copied:.2f} s of {end - start:.2f} s (keyframes {k1:.3f}..{k2:.3f}), re-encoded the rest"


def cut(source: str, start: float, end: float, out: Path, *, on_progress: Progress | None = None,
        allow_smart: bool = True) -> CutResult:
    """Cut [start, end) of `source` into an MP4 at `out`: smart cut when it applies and verifies, else
    an accurate full re-encode. The result's duration is measured by decoding the output."""
    report = on_progress or (lambda f: None)
    info = probe(source)
    if info.video_codec is None:
        raise CutError("The recording has no video stream.")
    wanted = end - start
    with tempfile.TemporaryDirectory(prefix="ms-clip-") as tmp:
        work = Path(tmp)
        if allow_smart:
            try:
                note = smart_cut(source, start, end, out, work, info, on_progress=report)
                measured = decoded_duration(str(out))
                if abs(measured - wanted) <= DURATION_TOLERANCE:
                    report(0.95)
                    return CutResult(out, measured, "smart", note)
                note = f"smart cut lasted {measured:.3f} s for {wanted:.3f} s asked; re-encoded instead"
            except CutError as exc:
                note = f"smart cut not used ({exc}); re-encoded the span"
        else:
            note = "re-encoded the span"
        reencode_cut(source, start, end, out, fps=info.fps, on_progress=lambda f: report(0.9 * f))
        measured = decoded_duration(str(out))
        if abs(measured - wanted) > DURATION_TOLERANCE:
            raise CutError(f"The clip lasts {measured:.2f} s instead of {wanted:.2f} s.")
        report(0.95)
        return CutResult(out, measured, "reencode", note)


def thumbnail(clip: str, at: float, out: Path, width: int = 640) -> None:
    """A JPEG of the frame at `at` seconds, at most `width` pixels wide."""
    _run(["-y", "-ss", f"{max(at, 0):.3f}", "-i", clip, "-frames:v", "1", "-vf", f"scale='min({width},iw)':-2",
          "-q:v", "3", str(out)])
    if not out.exists() or out.stat().st_size == 0:
        raise CutError("No thumbnail could be made.")


def stream_copy_cut(source: str, start: float, end: float, out: Path) -> None:
    """The fast, inaccurate cut (starts at the keyframe before `start`): the benchmark's baseline."""
    _run(["-y", "-ss", f"{start:.6f}", "-i", source, "-t", f"{end - start:.6f}", "-map", "0:v:0", "-map", "0:a:0?",
          "-c", "copy", "-movflags", "+faststart", str(out)])


def decodes(source: str, seconds: float = 5.0) -> None:
    """CutError unless the first `seconds` of video decode without error."""
    _run(["-v", "error", "-xerror", "-t", f"{seconds:g}", "-i", source, "-map", "0:v:0", "-f", "null", "-"],
         timeout=300)


# HLS renditions of an uploaded recording: 2-second segments, keyframes aligned across renditions.
LADDER = [(720, "2800k", "128k"), (360, "800k", "96k")]
SEGMENT_SECONDS = 2


def hls_ladder(source: str, out: Path, on_progress: Progress | None = None) -> float:
    """Write master.m3u8 and one folder per rendition (v0/, v1/ …) under `out`; returns the duration."""
    info = probe(source)
    if info.video_codec is None or not info.duration:
        raise CutError("The recording has no video stream.")
    height = info.height or 720
    ladder = [r for r in LADDER if r[0] <= height] or [LADDER[-1]]
    fps = info.fps or 30
    gop = max(1, round(fps * SEGMENT_SECONDS))
    split = f"[0:v]split={len(ladder)}" + "".join(f"[s{i}]" for i in range(len(ladder)))
    scales = ";".join(f"[s{i}]scale=-2:{h}[v{i}]" for i, (h, _, _) in enumerate(ladder))
    args = ["-y", "-i", source, "-filter_complex", f"{split};{scales}"]
    has_audio = info.audio_codec is not None
    for i, (_, vb, ab) in enumerate(ladder):
        args += ["-map", f"[v{i}]", f"-c:v:{i}", "libx264", f"-b:v:{i}", vb, "-preset", "veryfast"]
        if has_audio:
            args += ["-map", "0:a:0", f"-c:a:{i}", "aac", f"-b:a:{i}", ab]
    streams = " ".join(f"v:{i},a:{i}" if has_audio else f"v:{i}" for i in range(len(ladder)))
    args += ["-pix_fmt", "yuv420p", "-g", str(gop), "-keyint_min", str(gop), "-sc_threshold", "0",
             "-f", "hls", "-hls_time", str(SEGMENT_SECONDS), "-hls_playlist_type", "vod",
             "-hls_segment_filename", str(out / "v%v" / "seg_%05d.ts"), "-master_pl_name", "master.m3u8",
             "-var_stream_map", streams, str(out / "v%v" / "index.m3u8")]
    for i in range(len(ladder)):
        (out / f"v{i}").mkdir(parents=True, exist_ok=True)
    _run_with_progress(args, info.duration, on_progress)
    if not (out / "master.m3u8").exists():
        raise CutError("ffmpeg wrote no master playlist.")
    return info.duration
