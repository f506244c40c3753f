"""What the watch page polls: the show's state and, for those admitted, what to play.

It sits above streaming/selectors.py and streaming/replays.py (which builds on the selectors): the
live stream follows the chat's read rule, a finished show's replay the replay rule.
"""
from django.utils import timezone

from events.models import Event

from .models import LiveStream
from .replays import playback_for as playback_by_rule
from .selectors import ChatAccess, chat_access, show_state, viewer_count


def watch_status(event: Event, user, access: ChatAccess | None = None) -> dict:
    """The state of the show and, for those admitted, what to play: {"state", "playback",
    "starts_in", "viewers"} (JSON-ready; the page polls it to follow state changes and renew tokens)."""

    access = access or chat_access(event.pk, user)
    stream = LiveStream.objects.filter(event=event).first()
    now = timezone.now()
    state = show_state(event, stream, now)
    # The live stream follows the chat's read rule; a replay may also be bought alone (streaming/replays.py).
    playback = playback_by_rule(event, user) if access is not None else None
    if playback is not None:
        playback = {**playback, "expires_at": playback["expires_at"].isoformat()
                    if hasattr(playback["expires_at"], "isoformat") else playback["expires_at"]}
    return {"state": state, "playback": playback, "starts_in": max(0, int((event.starts_at - now).total_seconds())),
            "viewers": viewer_count(event.pk), "stream_id": stream.pk if stream else None,
            "program": stream.program_mode if stream else "live"}
