"""Signed media: HLS playlists and segments of an event, and clip files, behind playback tokens.

Every request checks the token in its URL (streaming.playback); a bad or expired one is a 403,
never a 500. Nothing here looks at the session: the token is the permission, shared per window,
so a CDN in front can cache each URL until the token dies (Cache-Control says how long).

Files come from the default storage. Playlists are answered here (small, and their relative URIs
must resolve against *our* URL so the next request carries the token). Segments, recordings and
clip files go through microstage.filesend: on S3 a redirect to a presigned URL that lives as long
as the token; on the filesystem an X-Accel-Redirect to nginx (MICROSTAGE_MEDIA_ACCEL=nginx) or,
without nginx, an async chunked stream.
"""
import mimetypes
import posixpath
import re

from django.core.files.storage import default_storage
from django.http import HttpResponse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET

from microstage.filesend import send_stored

from .models import Clip, Recording
from .playback import seconds_left
from .selectors import CAPTIONS_FILE, hls_recording, private_test_subject

CONTENT_TYPES = {
    ".m3u8": "application/vnd.apple.mpegurl",
    ".ts": "video/mp2t",
    ".m4s": "video/iso.segment",
    ".mp4": "video/mp4",
    ".aac": "audio/aac",
    ".vtt": "text/vtt",
    ".jpg": "image/jpeg",
}
_SAFE_PATH = re.compile(r"^[A-Za-z0-9_\-./]{1,300}$")
LIVE_PLAYLIST_MAX_AGE = 1  # a live media playlist changes every segment


def _refuse(status: int, text: str) -> HttpResponse:
    response = HttpResponse(text, status=status, content_type="text/plain; charset=utf-8")
    response["Cache-Control"] = "no-store"
    response["Access-Control-Allow-Origin"] = "*"
    return response


def _serve(request, name: str, max_age: int, *, proxy: bool) -> HttpResponse:
    ext = posixpath.splitext(name)[1].lower()
    content_type = CONTENT_TYPES.get(ext) or mimetypes.guess_type(name)[0] or "application/octet-stream"
    try:
        if not default_storage.exists(name):
            return _refuse(404, "Not found.")
        if proxy:  # a playlist: small, answered here (its relative URIs resolve against our URL)
            with default_storage.open(name, "rb") as fh:
                response = HttpResponse(fh.read(), content_type=content_type)
        else:  # segments, clips, recordings: nginx, a presigned URL or an async stream — never held whole
            response = send_stored(request, name, content_type=content_type, expire=max_age)
    except OSError:
        return _refuse(404, "Not found.")
    if response.status_code == 416:
        return response
    response["Cache-Control"] = f"public, max-age={max(0, max_age)}"
    response["Access-Control-Allow-Origin"] = "*"
    return response


def _clean(path: str) -> str | None:
    """A relative path inside the rendition folder, or None (no '..', no absolute paths)."""
    if not _SAFE_PATH.match(path) or path.startswith("/"):
        return None
    parts = path.split("/")
    if any(p in ("", ".", "..") for p in parts):
        return None
    return path if posixpath.splitext(path)[1].lower() in CONTENT_TYPES else None


@require_GET
def hls_file(request, event_id: str, token: str, recording_id: str, path: str):
    # Per segment: one HMAC and this lookup, which is a database read only once per
    # HLS_LOOKUP_SECONDS per process (streaming.selectors.hls_recording).
    recording = hls_recording(event_id, recording_id)
    # A private test ingest plays only with the team's own token (an attendee's event token never opens it).
    subject = private_test_subject(event_id) if recording and recording.private_test else event_id
    left = seconds_left(subject, token)
    if left is None:
        return _refuse(403, _("This playback link has expired or is not valid. Reload the player."))
    rel = _clean(path)
    if rel is None or recording is None:
        return _refuse(404, "Not found.")
    if rel == CAPTIONS_FILE:  # the uploaded captions of this recording, behind the same token
        stored = Recording.objects.filter(pk=recording_id).values_list("captions", flat=True).first()
        return _serve(request, stored, left, proxy=True) if stored else _refuse(404, "Not found.")
    is_playlist = rel.endswith(".m3u8")
    max_age = min(left, LIVE_PLAYLIST_MAX_AGE) if (is_playlist and recording.live) else left
    name = f"{recording.hls_prefix.rstrip('/')}/{rel}"
    return _serve(request, name, max_age, proxy=is_playlist)


@require_GET
def clip_file(request, clip_id: str, token: str, name: str):
    left = seconds_left(clip_id, token)
    if left is None:
        return _refuse(403, _("This clip link has expired or is not valid. Reload the page."))
    clip = Clip.objects.filter(pk=clip_id, status=Clip.Status.READY).only("file", "thumbnail", "captions").first()
    if clip is None:
        return _refuse(404, "Not found.")
    stored = {"clip.mp4": clip.file, "thumb.jpg": clip.thumbnail, CAPTIONS_FILE: clip.captions.name}.get(name)
    if not stored:
        return _refuse(404, "Not found.")
    return _serve(request, stored, left, proxy=name == CAPTIONS_FILE)  # captions are small: answered here

