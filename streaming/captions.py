"""Captions for replays and clips: a WebVTT file the team uploads, checked, stored and played as a
`<track kind="captions">` next to the video.

The file is parsed with webvtt-py and checked beyond what its lenient parser refuses: UTF-8, the
WEBVTT header, at least one cue, every timing line well formed and every cue ending after it starts.
A refused file changes nothing. The stored file is never public media: it is served only through the
same playback token as the video it belongs to (streaming.hls_views).
"""
import re

import webvtt
from django.core.files.base import ContentFile
from django.db import transaction
from django.utils.translation import gettext as _
from webvtt.errors import MalformedCaptionError, MalformedFileError

from microstage.errors import Invalid
from microstage.models import EDIT_ROLES
from microstage.permissions import require_role

from .models import Clip, Recording

MAX_CAPTIONS_BYTES = 512 * 1024
MAX_CUES = 20_000
LANGUAGE_RE = re.compile(r"^[A-Za-z]{2,3}(-[A-Za-z0-9]{2,8}){0,3}$")
TIMING_RE = re.compile(r"^(?:\d{2,}:)?\d{2}:\d{2}\.\d{3}[ \t]+-->[ \t]+(?:\d{2,}:)?\d{2}:\d{2}\.\d{3}(?:[ \t].*)?$")


def _refuse(message: str, field: str = "captions"):
    raise Invalid(message, fields={field: [message]})


def check_webvtt(data: bytes) -> int:
    """The number of cues in a valid WebVTT file; Invalid (with a clear reason) otherwise."""
    if len(data) > MAX_CAPTIONS_BYTES:
        _refuse(_("The captions file is too large (at most %(kb)d KB).") % {"kb": MAX_CAPTIONS_BYTES // 1024})
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        _refuse(_("The captions file must be UTF-8 text."))
    if "\x00" in text:
        _refuse(_("The captions file must be UTF-8 text."))
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    first = text.split("\n", 1)[0]
    if not (first == "WEBVTT" or first.startswith(("WEBVTT ", "WEBVTT\t"))):
        _refuse(_("This is not a WebVTT file: its first line must be “WEBVTT”."))
    timing_lines = [line for line in text.split("\n") if "-->" in line]
    bad = next((line for line in timing_lines if not TIMING_RE.match(line.strip())), None)
    if bad is not None:
        _refuse(_("This cue timing is not valid WebVTT: “%(line)s”.") % {"line": bad.strip()[:80]})
    try:
        parsed = webvtt.from_string(text, strict=True)
    except (MalformedFileError, MalformedCaptionError, ValueError):
        _refuse(_("This WebVTT file could not be read. Check its cue timings."))
    cues = parsed.captions
    # Every block after the header is a comment, a style or region definition, or a cue with a timing line.
    blocks = [b.strip() for b in re.split(r"\n{2,}", text)[1:] if b.strip()]
    cue_blocks = [b for b in blocks if not re.match(r"^(NOTE|STYLE|REGION)(\s|$)", b)]
    if not cue_blocks:
        _refuse(_("The captions file has no cues."))
    if len(cues) != len(cue_blocks) or len(cues) != len(timing_lines):
        _refuse(_("This WebVTT file could not be read. Check its cue timings."))
    if len(cues) > MAX_CUES:
        _refuse(_("The captions file has too many cues (at most %(n)d).") % {"n": MAX_CUES})
    for cue in cues:
        if cue.end_in_seconds <= cue.start_in_seconds:
            _refuse(_("A cue ends before it starts (at %(start)s).") % {"start": cue.start})
    return len(cues)


def _clean_language(language) -> str:
    language = (language or "").strip() if isinstance(language, str) else ""
    if not LANGUAGE_RE.match(language):
        _refuse(_("Give the captions' language as a code such as “en” or “de”."), field="language")
    return language


def _clean_label(label, language: str) -> str:
    label = (label or "").strip() if isinstance(label, str) else ""
    if len(label) > 60:
        _refuse(_("Use at most 60 characters for the name."), field="label")
    return label or language


def _read(upload) -> bytes:
    if upload is None:
        _refuse(_("Choose a WebVTT (.vtt) captions file."))
    if upload.size > MAX_CAPTIONS_BYTES:
        _refuse(_("The captions file is too large (at most %(kb)d KB).") % {"kb": MAX_CAPTIONS_BYTES // 1024})
    return b"".join(upload.chunks())


def _store(obj, data: bytes, language: str, label: str) -> None:
    old = obj.captions.name if obj.captions else ""
    with transaction.atomic():
        obj.captions.save("captions.vtt", ContentFile(data), save=False)
        obj.captions_language, obj.captions_label = language, label
        obj.save(update_fields=["captions", "captions_language", "captions_label"])
        if old:
            storage, name = obj.captions.storage, old
            transaction.on_commit(lambda: storage.delete(name))


def set_recording_captions(*, recording: Recording, actor, upload, language, label="") -> Recording:
    """Attach captions to a finished recording (the replay). Owner and managers only."""
    require_role(actor, recording.stream.event.creator_id, EDIT_ROLES)
    language = _clean_language(language)
    label = _clean_label(label, language)
    data = _read(upload)
    check_webvtt(data)
    _store(recording, data, language, label)
    return recording


def set_clip_captions(*, clip: Clip, actor, upload, language, label="") -> Clip:
    """Attach captions to a clip (timed from the clip's own start). Owner and managers only."""
    require_role(actor, clip.event.creator_id, EDIT_ROLES)
    language = _clean_language(language)
    label = _clean_label(label, language)
    data = _read(upload)
    check_webvtt(data)
    _store(clip, data, language, label)
    return clip

