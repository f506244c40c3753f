"""ffmpeg for live video: input probing, the HLS ladder command, progress/health parsing, copying to storage.

Nothing here touches the database: streaming/services/transcode.py decides what to transcode and records the outcome.
ffmpeg comes from the imageio-ffmpeg wheel. The ladder is one ffmpeg process: decode once, split,
scale, encode each rung with keyframes forced every SEGMENT_SECONDS (and no scene-cut keyframes), so
every rendition's segments start on the same frame and a player can switch between them anywhere.
"""
from __future__ import annotations

import collections
import logging
import os
import queue
import re
import shutil
import signal
import subprocess
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

log = logging.getLogger(__name__)

SEGMENT_SECONDS = 2
# How often a live ladder's finished segments and playlists are copied to storage (where players
# fetch them): every tick adds up to this much to glass-to-glass latency (bench/glass.py).
LIVE_SYNC_SECONDS = 0.25
MASTER = "master.m3u8"
VARIANT_PLAYLIST = "index.m3u8"
RECORDING_NAME = "recording.mp4"
PRESET = os.environ.get("MICROSTAGE_X264_PRESET", "veryfast")  # 2-core dev machines: veryfast or ultrafast


@dataclass(frozen=True)
class Rung:
    name: str
    height: int
    video_kbps: int
    audio_kbps: int = 128


# 720p, 480p, 360p, plus an audio-only fallback (AUDIO_RUNG) when the input has sound.
LADDER = (Rung("720p", 720, 2800), Rung("480p", 480, 1400), Rung("360p", 360, 800))
AUDIO_RUNG = Rung("audio", 0, 0, audio_kbps=64)


def ffmpeg_exe() -> str:
    import imageio_ffmpeg

    return imageio_ffmpeg.get_ffmpeg_exe()


# --- inputs ------------------------------------------------------------------------------------

@dataclass
class Source:
    """What ffmpeg reads: its input arguments, which streams to map, and what a probe learnt."""

    args: list[str]
    video: str = "0:v:0"
    audio: str | None = "0:a:0"
    height: int | None = None
    fps: float | None = None
    duration: float | None = None  # None for live input
    live: bool = False
    stats: bool = True  # measure the input's own bitrate/fps/keyframes (off for raw test patterns)


def rtmp_pull_url(host: str, port: int, app: str, key: str) -> str:
    return f"rtmp://{host}:{port}/{app}/{key}"


def rtmp_source(url: str) -> Source:
    # -rw_timeout: a publisher that vanishes without nginx noticing must not hang the worker forever.
    # A short analysis window: the probe and the ladder each open their own play session, and
    # whatever the probe spends reading is missing from the start of the recording.
    return Source(args=["-rw_timeout", "15000000", "-analyzeduration", "2000000", "-rtmp_live", "live",
                        "-i", url], live=True)


def file_source(path: str | Path, *, realtime: bool = False) -> Source:
    return Source(args=[*(["-re"] if realtime else []), "-i", str(path)], live=realtime)


def pattern_source(seconds: float, *, width: int = 1280, height: int = 720, fps: int = 30,
                   realtime: bool = False) -> Source:
    """ffmpeg's lavfi test pattern (testsrc, with a running counter) and a 440 Hz sine."""
    re_ = ["-re"] if realtime else []
    return Source(
        args=[*re_, "-f", "lavfi", "-i", f"testsrc=size={width}x{height}:rate={fps}:duration={seconds:g}",
              *re_, "-f", "lavfi", "-i", f"sine=frequency=440:sample_rate=48000:duration={seconds:g}"],
        video="0:v:0", audio="1:a:0", height=height, fps=float(fps), duration=float(seconds), live=realtime,
        stats=False)


_DURATION = re.compile(r"Duration: (\d+):(\d+):(\d+(?:\.\d+)?)")
_VIDEO = re.compile(r"Stream #0:\d+.*?: Video: .*?(\d{2,5})x(\d{2,5})")
_FPS = re.compile(r"(\d+(?:\.\d+)?) fps")


def probe(source: Source, timeout: float = 30) -> Source:
    """Fill in what the input holds (video size, fps, audio, duration) from `ffmpeg -i`'s banner.

    There is no ffprobe in the imageio-ffmpeg wheel; ffmpeg prints the same facts when asked for no
    output. Raises ValueError when the input has no video stream or cannot be opened.
    """
    proc = subprocess.run([ffmpeg_exe(), "-hide_banner", "-nostdin", *source.args], capture_output=True,  # noqa: S603
                          text=True, timeout=timeout, check=False)
    text = proc.stderr
    video = _VIDEO.search(text)
    if not video:
        tail = text.strip().splitlines()[-1:] or ["no output"]
        raise ValueError(f"No video stream in the input ({tail[0]})")
    source.height = int(video.group(2))
    line = text[video.start():text.find("\n", video.start())]
    fps = _FPS.search(line)
    source.fps = float(fps.group(1)) if fps else None
    if not re.search(r"Stream #0:\d+.*?: Audio: ", text):
        source.audio = None
    duration = _DURATION.search(text)
    if duration and not source.live:
        h, m, s = duration.groups()
        source.duration = int(h) * 3600 + int(m) * 60 + float(s)
    return source


def ladder_for(height: int | None) -> list[Rung]:
    """The rungs at or below the input's height (never upscale), and at least the smallest one."""
    rungs = [r for r in LADDER if height is None or r.height <= height]
    return rungs or [LADDER[-1]]


# --- the ladder command -------------------------------------------------------------------------

def hls_command(source: Source, workdir: Path, *, preset: str = PRESET, rungs: list[Rung] | None = None,
                stats_fd: int | None = None) -> list[str]:
    """One ffmpeg process writing the whole ladder (and master.m3u8) as HLS into `workdir`.

    `-progress pipe:1` prints key=value blocks every second on stdout (see parse_progress); with
    `stats_fd`, the input video is also stream-copied as framecrc lines to that descriptor, one per
    packet (size, pts, keyframe flag), which is how the input's own health is measured.
    """
    rungs = rungs or ladder_for(source.height)
    gop = round((source.fps or 30) * SEGMENT_SECONDS)
    n = len(rungs)
    split = f"[{source.video.rsplit(':', 1)[0]}]split={n}" + "".join(f"[s{i}]" for i in range(n))
    scales = [f"[s{i}]scale=-2:{r.height},format=yuv420p[v{i}]" for i, r in enumerate(rungs)]
    argv = [ffmpeg_exe(), "-hide_banner", "-nostdin", "-y", "-loglevel", "error", "-progress", "pipe:1",
            "-stats_period", "1", *source.args, "-filter_complex", ";".join([split, *scales])]
    for i in range(n):
        argv += ["-map", f"[v{i}]"]
    audio_rungs = [*rungs, AUDIO_RUNG] if source.audio else []
    for _ in audio_rungs:
        argv += ["-map", source.audio]
    argv += ["-c:v", "libx264", "-preset", preset, "-profile:v", "main",
             # Live: no B-frames, no lookahead and sliced threads, so a frame leaves the encoder at once
             # (bench/glass.py: a segment's last frame playable 0.3 s after capture instead of 0.8 s).
             # Files keep x264's defaults: there compression counts, not delay.
             *(["-tune", "zerolatency"] if source.live else []),
             "-g", str(gop), "-keyint_min", str(gop), "-sc_threshold", "0",
             "-force_key_frames", f"expr:gte(t,n_forced*{SEGMENT_SECONDS})"]
    for i, r in enumerate(rungs):
        argv += [f"-b:v:{i}", f"{r.video_kbps}k", f"-maxrate:v:{i}", f"{int(r.video_kbps * 1.1)}k",
                 f"-bufsize:v:{i}", f"{r.video_kbps * 2}k"]
    if audio_rungs:
        argv += ["-c:a", "aac", "-ar", "48000", "-ac", "2"]
        for i, r in enumerate(audio_rungs):
            argv += [f"-b:a:{i}", f"{r.audio_kbps}k"]
    if source.audio:
        streams = [f"v:{i},a:{i},name:{r.name}" for i, r in enumerate(rungs)] + [f"a:{n},name:{AUDIO_RUNG.name}"]
    else:
        streams = [f"v:{i},name:{r.name}" for i, r in enumerate(rungs)]
    argv += ["-f", "hls", "-hls_time", str(SEGMENT_SECONDS), "-hls_list_size", "0",
             "-hls_playlist_type", "event", "-hls_flags", "independent_segments+temp_file",
             "-hls_segment_type", "mpegts", "-hls_segment_filename", str(workdir / "%v" / "seg_%05d.ts"),
             "-master_pl_name", MASTER, "-var_stream_map", " ".join(streams),
             str(workdir / "%v" / VARIANT_PLAYLIST)]
    if stats_fd is not None and source.stats:
        argv += ["-map", source.video, "-c", "copy", "-f", "framecrc", f"pipe:{stats_fd}"]
    return argv


def remux_command(playlist: Path, out: Path) -> list[str]:
    """The kept recording: the top rendition's segments stream-copied into one MP4 (no re-encode)."""
    return [ffmpeg_exe(), "-hide_banner", "-nostdin", "-y", "-loglevel", "error",
            "-i", str(playlist), "-c", "copy", "-movflags", "+faststart", str(out)]


def playlist_entries(text: str) -> list[tuple[float, str]]:
    """(duration, uri) of each segment of a media playlist."""
    entries, duration = [], None
    for line in text.splitlines():
        line = line.strip()
        if line.startswith("#EXTINF:"):
            duration = float(line[8:].split(",", 1)[0])
        elif line and not line.startswith("#") and duration is not None:
            entries.append((duration, line))
            duration = None
    return entries


# --- health ------------------------------------------------------------------------------------

def parse_progress(lines) -> collections.abc.Iterator[dict[str, str]]:
    """Blocks of ffmpeg's `-progress` output (key=value lines, each block ends with progress=...)."""
    block: dict[str, str] = {}
    for raw in lines:
        key, sep, value = raw.strip().partition("=")
        if not sep:
            continue
        block[key] = value.strip()
        if key == "progress":
            yield block
            block = {}


def out_seconds(block: dict[str, str]) -> float | None:
    try:
        return int(block["out_time_us"]) / 1_000_000
    except (KeyError, ValueError):
        return None


class InputStats:
    """Bitrate, frame rate and keyframe interval of the input video over the last few seconds,
    from framecrc lines (stream, dts, pts, duration, size, crc[, F=flags]...)."""

    def __init__(self, window: float = 6.0):
        self.window = window
        self.timebase = 1 / 1000
        self.packets: collections.deque[tuple[float, int, bool]] = collections.deque()
        self.lock = threading.Lock()

    def feed(self, line: str) -> None:
        if line.startswith("#tb 0:"):
            num, _, den = line.split(":", 1)[1].strip().partition("/")
            self.timebase = int(num) / int(den)
            return
        if line.startswith("#"):
            return
        parts = [p.strip() for p in line.split(",")]
        if len(parts) < 6:
            return
        try:
            pts, size = int(parts[2]) * self.timebase, int(parts[4])
        except ValueError:
            return
        flags = next((p[2:] for p in parts[6:] if p.startswith("F=")), None)
        key = flags is None or bool(int(flags, 16) & 1)
        with self.lock:
            self.packets.append((pts, size, key))
            while self.packets and pts - self.packets[0][0] > self.window:
                self.packets.popleft()

    def snapshot(self) -> dict:
        with self.lock:
            packets = list(self.packets)
        if len(packets) < 2:
            return {}
        span = packets[-1][0] - packets[0][0]
        if span <= 0:
            return {}
        keys = [p[0] for p in packets if p[2]]
        out = {"input_bitrate_kbps": round(sum(p[1] for p in packets[1:]) * 8 / span / 1000, 1),
               "input_fps": round((len(packets) - 1) / span, 2)}
        if len(keys) >= 2:
            out["keyframe_interval_s"] = round((keys[-1] - keys[0]) / (len(keys) - 1), 2)
        return out


def health_from(block: dict[str, str], stats: InputStats | None, started: float) -> dict:
    """LiveStream.health: what the control room shows. Input figures when measured, else the encoder's."""
    def num(key, cast=float):
        try:
            return cast(block[key])
        except (KeyError, ValueError):
            return None

    speed = block.get("speed", "").rstrip("x")
    health = {
        "fps": num("fps"),
        "bitrate_kbps": None,
        "keyframe_interval_s": float(SEGMENT_SECONDS),
        "dropped_frames": num("drop_frames", int),
        "duplicated_frames": num("dup_frames", int),
        "frames": num("frame", int),
        "speed": float(speed) if re.fullmatch(r"\d+(\.\d+)?", speed) else None,
        "out_time_s": out_seconds(block),
        "uptime_s": round(time.monotonic() - started, 1),
        "measured": "encoder",
    }
    bitrate = block.get("bitrate", "")
    if bitrate.endswith("kbits/s"):
        health["bitrate_kbps"] = float(bitrate[:-7])
    if stats is not None:
        snap = stats.snapshot()
        if snap:
            health.update(bitrate_kbps=snap["input_bitrate_kbps"], input_fps=snap["input_fps"],
                          keyframe_interval_s=snap.get("keyframe_interval_s"), measured="input")
    return health


# --- copying to storage -------------------------------------------------------------------------

class StorageSync:
    """Copies finished segments, then the playlists that list them, from `workdir` to a storage prefix.

    A segment is finished once its playlist names it (ffmpeg writes playlists after segments, and
    temp_file renames both into place), so a player never sees a playlist entry it cannot fetch.
    """

    def __init__(self, workdir: Path, storage, prefix: str):
        self.workdir, self.storage, self.prefix = workdir, storage, prefix.rstrip("/") + "/"
        self.uploaded: set[str] = set()
        self.playlists: dict[str, bytes] = {}

    def put(self, rel: str, path: Path) -> None:
        from django.core.files import File

        name = self.prefix + rel
        if self.storage.exists(name):
            self.storage.delete(name)
        with path.open("rb") as fh:
            saved = self.storage.save(name, File(fh, name=path.name))
        if saved != name:
            raise RuntimeError(f"storage renamed {name} to {saved}")

    def sync(self) -> int:
        """Upload what is new; returns the number of files written."""
        written = 0
        for playlist in sorted(self.workdir.glob(f"*/{VARIANT_PLAYLIST}")):
            variant = playlist.parent.name
            data = playlist.read_bytes()
            if self.playlists.get(variant) == data:
                continue
            for _, uri in playlist_entries(data.decode()):
                rel = f"{variant}/{uri}"
                if rel not in self.uploaded:
                    self.put(rel, playlist.parent / uri)
                    self.uploaded.add(rel)
                    written += 1
            self.put(f"{variant}/{VARIANT_PLAYLIST}", playlist)
            self.playlists[variant] = data
            written += 1
        master = self.workdir / MASTER
        if master.exists() and self.playlists and self.playlists.get(MASTER) != master.read_bytes():
            self.put(MASTER, master)
            self.playlists[MASTER] = master.read_bytes()
            written += 1
        return written


# --- running ------------------------------------------------------------------------------------

@dataclass
class Outcome:
    returncode: int
    out_time: float | None
    stopped: bool
    errors: list[str] = field(default_factory=list)


def _pump(stream, sink: Callable[[str], None]) -> None:
    for line in iter(stream.readline, ""):
        sink(line)
    stream.close()


def run_ladder(source: Source, workdir: Path, *, on_health: Callable[[dict], None] | None = None,
               on_tick: Callable[[], None] | None = None, should_stop: Callable[[], bool] | None = None,
               stop_grace: float = 0, preset: str = PRESET, health_every: float = 3.0,
               tick_every: float | None = None) -> Outcome:
    """Run the ladder until the input ends (or `should_stop()` says so), calling back as it goes.

    on_health gets LiveStream.health dicts every `health_every` seconds; on_tick runs every
    `tick_every` seconds (copying to storage). A stop lets the input end by itself for
    `stop_grace` seconds, then asks ffmpeg to finish (SIGINT: it closes playlists with ENDLIST).
    """
    workdir.mkdir(parents=True, exist_ok=True)
    stats = InputStats() if source.stats else None
    read_fd = write_fd = None
    if stats is not None:
        read_fd, write_fd = os.pipe()
    argv = hls_command(source, workdir, preset=preset, stats_fd=write_fd)
    log.info("ffmpeg: %s", " ".join(argv))
    proc = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, bufsize=1,  # noqa: S603
                            pass_fds=(write_fd,) if write_fd is not None else (), start_new_session=True)
    tick_every = LIVE_SYNC_SECONDS if tick_every is None else tick_every
    errors: collections.deque[str] = collections.deque(maxlen=20)
    lines: queue.Queue[str | None] = queue.Queue()
    threads = [threading.Thread(target=_pump, args=(proc.stdout, lines.put), daemon=True),
               threading.Thread(target=_pump, args=(proc.stderr, lambda s: errors.append(s.rstrip())),
                                daemon=True)]
    if write_fd is not None:
        os.close(write_fd)
        threads.append(threading.Thread(target=_pump, args=(os.fdopen(read_fd, "r"), stats.feed), daemon=True))
    for t in threads:
        t.start()
    started = last_tick = time.monotonic()
    last_health = started - health_every  # the first measurement goes out at once
    stop_at = None
    out_time = None
    block: dict[str, str] = {}
    try:
        while proc.poll() is None or not lines.empty():
            try:
                line = lines.get(timeout=min(0.5, max(0.05, tick_every)))
            except queue.Empty:
                line = None
            if line:
                key, sep, value = line.strip().partition("=")
                if sep:
                    block[key] = value.strip()
                if key == "progress":
                    out_time = out_seconds(block) or out_time
                    now = time.monotonic()
                    if on_health and now - last_health >= health_every:
                        on_health(health_from(block, stats, started))
                        last_health = now
                    block = {}
            now = time.monotonic()
            if now - last_tick >= tick_every:
                last_tick = now
                if on_tick:
                    on_tick()
                if stop_at is None and should_stop and should_stop():
                    stop_at = now + stop_grace
                if stop_at is not None and now >= stop_at and proc.poll() is None:
                    proc.send_signal(signal.SIGINT)
                    stop_at = now + 30  # then, if it still runs, again (and kill below)
            if proc.poll() is None and stop_at is not None and now > stop_at + 60:
                proc.kill()
    finally:
        if proc.poll() is None:
            proc.kill()
        proc.wait()
        for t in threads:
            t.join(5)
    return Outcome(proc.returncode, out_time, stop_at is not None, list(errors))


def make_recording(workdir: Path, rung: str | None = None, timeout: float = 3600) -> Path | None:
    """Remux the best rendition into recording.mp4 inside `workdir`; None when there is nothing to keep."""
    names = [rung] if rung else [r.name for r in LADDER]
    for name in names:
        playlist = workdir / name / VARIANT_PLAYLIST
        if playlist.exists() and playlist_entries(playlist.read_text()):
            out = workdir / RECORDING_NAME
            subprocess.run(remux_command(playlist, out), check=True, capture_output=True, timeout=timeout)  # noqa: S603
            return out
    return None


def decode_errors(path_or_url: str, timeout: float = 120) -> str:
    """Decode every stream of the input to nowhere; '' when it decodes cleanly (tests, checks)."""
    proc = subprocess.run([ffmpeg_exe(), "-v", "error", "-nostdin",  # noqa: S603
                           "-i", str(path_or_url), "-f", "null", "-"],
                          capture_output=True, text=True, timeout=timeout, check=False)
    return proc.stderr.strip() if proc.returncode == 0 else (proc.stderr.strip() or f"exit {proc.returncode}")


def cleanup(workdir: Path) -> None:
    shutil.rmtree(workdir, ignore_errors=True)
