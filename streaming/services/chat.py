"""Chat: posting and moderation of an event's live chat. Consumers call these through
database_sync_to_async; every call re-checks who the person is allowed to be. Limits that must hold
across web processes (rate limit, slow mode) live in Redis.
"""
import re
import time
import uuid
from datetime import timedelta

from django.conf import settings
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from events.models import Event
from microstage import realtime
from microstage.errors import Forbidden, Invalid, NotFound, ServiceError
from microstage.models import User
from microstage.selectors import role_of

from ..models import ChatMessage, ChatMute, LiveStream
from ..selectors import chat_access, chat_payload, chat_redis, slow_mode_seconds

MAX_MUTE_MINUTES = 7 * 24 * 60
MAX_SLOW_MODE_SECONDS = 3600
_CONTROL_CHARS = re.compile(r"[\x00-\x1f\x7f]+")


def _chat_rate() -> tuple[int, float]:

    count, _slash, seconds = str(settings.CHAT_RATE_LIMIT).partition("/")
    return int(count), float(seconds or 10)


def _chat_access_or_refuse(event_id: str, user, *, moderate: bool = False):


    access = chat_access(event_id, user)
    if access is None:
        raise NotFound(_("No such event."), code="not_found")
    if user is None or not user.is_authenticated:
        raise Forbidden(_("Log in with a ticket to chat."), code="login_required")
    if moderate and not access.can_moderate:
        raise Forbidden(_("Only the event's moderators can do that."), code="forbidden")
    if not access.can_post:
        raise Forbidden(_("Only ticket holders and the team can chat."), code="forbidden")
    return access


def clean_chat_text(text) -> str:
    """One line of plain text: control characters (including NUL, which PostgreSQL refuses) become
    spaces; empty or over-long text is refused. HTML is never interpreted: clients set textContent."""


    if not isinstance(text, str):
        raise Invalid(_("The text must be a string."), code="invalid")
    text = _CONTROL_CHARS.sub(" ", text).strip()
    if not text:
        raise Invalid(_("Say something first."), code="empty")
    if len(text) > settings.CHAT_MAX_LENGTH:
        raise Invalid(
            _("Messages are at most %(chat_max_length)s characters.") % {"chat_max_length": settings.CHAT_MAX_LENGTH},
            code="too_long",
            max_length=settings.CHAT_MAX_LENGTH,
        )
    return text


def _take_rate_slot(event_id: str, user_id: str) -> None:
    """Sliding window in a Redis sorted set: at most N messages per window per person and event."""


    limit, window = _chat_rate()
    key = f"ms:chat:rate:{event_id}:{user_id}"
    now = time.time()
    member = f"{now:.6f}:{uuid.uuid4().hex[:8]}"
    pipe = chat_redis().pipeline(transaction=True)
    pipe.zremrangebyscore(key, "-inf", now - window)
    pipe.zadd(key, {member: now})
    pipe.zcard(key)
    pipe.zrange(key, 0, 0, withscores=True)
    pipe.expire(key, int(window) + 1)
    _added, _trimmed, count, oldest, _expiry = pipe.execute()
    if count > limit:
        chat_redis().zrem(key, member)  # a refused message does not use up a slot
        retry = max(0.1, (oldest[0][1] + window - now) if oldest else window)
        raise ServiceError(_("Slow down: at most %(limit)s messages every %(window)s seconds.")
                           % {"limit": limit, "window": f"{window:g}"}, code="rate_limited",
                           status=429, retry_after=round(retry, 1))


def _take_slow_mode_slot(event_id: str, user_id: str, seconds: int) -> None:


    if seconds <= 0:
        return
    r = chat_redis()
    key = f"ms:chat:slow:{event_id}:{user_id}"
    if not r.set(key, 1, nx=True, ex=seconds):
        left = max(1, r.ttl(key))
        raise ServiceError(
            _("Slow mode is on: one message every %(seconds)s seconds (wait %(left)s s).")
            % {"seconds": seconds, "left": left},
            code="slow_mode",
            status=429,
            retry_after=left,
        )


def post_chat(*, event_id: str, user, text) -> dict:
    """Keep a message and announce it to the room (on commit). Returns the broadcast payload."""



    text = clean_chat_text(text)
    access = _chat_access_or_refuse(event_id, user)
    now = timezone.now()
    mute = ChatMute.objects.filter(event_id=event_id, user=user, until__gt=now).first()
    if mute is not None:
        raise Forbidden(
            _("A moderator muted you until %(until)s UTC.") % {"until": f"{mute.until:%H:%M}"},
            code="muted",
            until=mute.until.isoformat(),
        )
    _take_rate_slot(event_id, user.pk)
    if not access.can_moderate:
        _take_slow_mode_slot(event_id, user.pk, slow_mode_seconds(event_id))
    with transaction.atomic():
        message = ChatMessage.objects.create(event_id=event_id, user=user, text=text)
        message.user = user
        payload = chat_payload(message)
        realtime.publish(realtime.event_group(event_id), payload)
    return payload


def delete_chat(*, event_id: str, message_id, actor) -> dict:
    """Moderators hide a message for everyone; deleting twice is harmless."""



    if not isinstance(message_id, str) or not message_id:
        raise Invalid(_("Which message? Give its id."), code="invalid")
    _chat_access_or_refuse(event_id, actor, moderate=True)
    return hide_chat_message(event_id=event_id, message_id=message_id, actor=actor)


def hide_chat_message(*, event_id: str, message_id: str, actor) -> dict:
    """Hide a message for everyone (after the caller checked the actor may: team moderators, or staff
    in the admin)."""



    with transaction.atomic():
        message = ChatMessage.objects.select_for_update().filter(pk=message_id, event_id=event_id).first()
        if message is None:
            raise NotFound(_("No such message."), code="not_found")
        if message.deleted_at is None:
            message.deleted_at, message.deleted_by = timezone.now(), actor
            message.save(update_fields=["deleted_at", "deleted_by"])
        payload = {"type": "chat_deleted", "id": message.pk}
        realtime.publish(realtime.event_group(event_id), payload)
    return payload


def mute_chat_user(*, event_id: str, user_id, minutes, actor) -> dict:
    """Silence someone in this event's chat for `minutes` (0 lifts the mute). The team cannot be muted."""



    if not isinstance(user_id, str) or not user_id:
        raise Invalid(_("Whom? Give the person's id."), code="invalid")
    if isinstance(minutes, bool) or not isinstance(minutes, int) or not 0 <= minutes <= MAX_MUTE_MINUTES:
        raise Invalid(
            _("Minutes are a whole number from 0 to %(max_mute_minutes)s.") % {"max_mute_minutes": MAX_MUTE_MINUTES},
            code="invalid",
        )
    _chat_access_or_refuse(event_id, actor, moderate=True)
    target = User.objects.filter(pk=user_id).first()
    if target is None:
        raise NotFound(_("No such person."), code="not_found")
    creator_id = Event.objects.filter(pk=event_id).values_list("creator_id", flat=True).first()
    if role_of(target, creator_id) is not None:
        raise Forbidden(_("Team members cannot be muted."), code="forbidden")
    realtime.access_changed(target.pk, event_id)  # their sockets go read-only (or back) at once
    if minutes == 0:
        ChatMute.objects.filter(event_id=event_id, user=target).delete()
        return {"type": "mute", "user": target.pk, "until": None}
    until = timezone.now() + timedelta(minutes=minutes)
    ChatMute.objects.update_or_create(event_id=event_id, user=target, defaults={"until": until, "muted_by": actor})
    return {"type": "mute", "user": target.pk, "until": until.isoformat()}


def set_slow_mode(*, event_id: str, seconds, actor) -> dict:
    """Per-event minimum seconds between one person's messages (0 turns slow mode off)."""


    if isinstance(seconds, bool) or not isinstance(seconds, int) or not 0 <= seconds <= MAX_SLOW_MODE_SECONDS:
        raise Invalid(
            _("Slow mode is a whole number of seconds from 0 to %(max_slow_mode_seconds)s.")
            % {"max_slow_mode_seconds": MAX_SLOW_MODE_SECONDS},
            code="invalid",
        )
    _chat_access_or_refuse(event_id, actor, moderate=True)
    stream, _created = LiveStream.objects.get_or_create(event_id=event_id)
    if stream.slow_mode_seconds != seconds:
        stream.slow_mode_seconds = seconds
        stream.save(update_fields=["slow_mode_seconds", "updated_at"])
    payload = {"type": "slow_mode", "seconds": seconds}
    realtime.publish(realtime.event_group(event_id), payload)
    return payload
