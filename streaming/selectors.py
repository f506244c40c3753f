"""Reads for streaming: who may watch and see clips, what plays, and what the pages show."""
import functools
import time
from dataclasses import dataclass
from datetime import datetime, timedelta

import redis
from django.conf import settings
from django.core.cache import cache
from django.core.files.storage import default_storage
from django.db.models import QuerySet
from django.utils import timezone
from django.utils.translation import gettext as _, ngettext

from commerce.models import Order
from events.models import Event, Ticket
from events.selectors import drops_with_availability, tickets_of, tiers_with_availability
from memberships.selectors import perks_for
from microstage.models import MODERATION_ROLES
from microstage.selectors import role_of

from .models import ChatMessage, ChatMute, Clip, LiveStream, Recording, StreamIncident
from .playback import make_token

# --- access
# One place for the rules; pages, API views, tokens and the clip files all ask these.

PAID_ORDER_STATUSES = (Order.Status.PAID, Order.Status.PARTIALLY_REFUNDED)


def is_team(user, creator_id: str) -> bool:
    """Any team role of the creator (owner, manager, door, moderator)."""
    return role_of(user, creator_id) is not None


def holds_ticket(user, event: Event) -> bool:
    return tickets_of(user).filter(event=event, status=Ticket.Status.VALID).exists()


def is_buyer(user, creator_id: str) -> bool:
    """Someone with a paid order from the creator (a fully refunded one does not count)."""
    if not getattr(user, "is_authenticated", False):
        return False
    return Order.objects.filter(creator_id=creator_id, buyer=user, status__in=PAID_ORDER_STATUSES).exists()


def stream_is_free(event: Event) -> bool:
    return LiveStream.objects.filter(event=event, is_free=True).exists()


def can_watch(event: Event, user) -> bool:
    """The live stream and the replay: the team always; otherwise a published event, and either a
    free stream (anyone, signed in or not) or a valid ticket of the event."""
    if is_team(user, event.creator_id):
        return True
    if event.status != Event.Status.PUBLISHED:
        return False
    return stream_is_free(event) or holds_ticket(user, event)


def can_view_clip(clip: Clip, user) -> bool:
    """A clip by its access rule; the creator's team always."""
    creator_id = clip.event.creator_id
    if is_team(user, creator_id):
        return True
    if clip.access == Clip.Access.PUBLIC:
        return True
    if not getattr(user, "is_authenticated", False):
        return False
    if clip.access == Clip.Access.TICKET_HOLDERS:
        return holds_ticket(user, clip.event)
    if clip.access == Clip.Access.MEMBERS:
        return perks_for(user, creator_id).clip_access
    if clip.access == Clip.Access.BUYERS:
        return is_buyer(user, creator_id)
    return False


def clip_access_hint(clip: Clip) -> str:
    """Why someone may not see a clip, and how to get access (for the public clip page)."""
    creator = clip.event.creator.name
    return {
        Clip.Access.TICKET_HOLDERS: f"This clip is for ticket holders of “{clip.event.title}”. "
                                    f"Get a ticket to watch it.",
        Clip.Access.MEMBERS: f"This clip is for members of {creator} whose membership includes clips. "
                             f"Join a membership plan to watch it.",
        Clip.Access.BUYERS: f"This clip is for people who bought something from {creator}. "
                            f"Any paid order — a ticket or merchandise — unlocks it.",
    }.get(clip.access, "")


# --- playback

def playable_recording(event: Event) -> Recording | None:
    """What plays for an event now: the recording being made while the stream is live, else the newest
    finished one (the replay). Only recordings with HLS renditions count."""
    recordings = (Recording.objects.filter(stream__event=event).exclude(hls_prefix="")
                  .exclude(source=Recording.Source.TEST))  # the team's private tests never play here
    stream = LiveStream.objects.filter(event=event).only("status").first()
    if stream is not None and stream.status == LiveStream.Status.LIVE:
        live = recordings.filter(status=Recording.Status.RECORDING).order_by("-created_at").first()
        if live is not None:
            return live
    return recordings.filter(status=Recording.Status.READY).order_by("-created_at").first()


def playback_for(event: Event, user) -> dict | None:
    """{"hls_url", "expires_at"} for someone admitted to watch (live, or the replay after the show),
    or None — not admitted, or nothing to play yet. `hls_url` is site-relative; the token in it is
    shared by everyone admitted in the same window (CDN-cacheable) and must be renewed before
    `expires_at` by calling this again (the API: GET /api/v1/events/{id}/playback)."""
    if not can_watch(event, user):
        return None
    recording = playable_recording(event)
    if recording is None:
        return None
    return playback_urls(event, recording)


def playback_urls(event: Event, recording: Recording) -> dict:

    token, expires_at = make_token(event.pk)
    base = f"/streaming/hls/{event.pk}/{token}/{recording.pk}"
    return {"hls_url": f"{base}/{MASTER_PLAYLIST}",
            "expires_at": expires_at, "recording": recording.pk,
            "live": recording.status == Recording.Status.RECORDING,
            "captions": captions_track(recording, f"{base}/{CAPTIONS_FILE}")}


MASTER_PLAYLIST = "master.m3u8"
CAPTIONS_FILE = "captions.vtt"  # a recording's or clip's uploaded captions, behind the same token


def captions_track(obj, url: str) -> dict | None:
    """{"url", "srclang", "label"} for the player's `<track kind="captions">`, or None without captions."""
    if not obj.captions:
        return None
    return {"url": url, "srclang": obj.captions_language, "label": obj.captions_label or obj.captions_language}


def private_test_subject(event_id: str) -> str:
    """Playback tokens for the private test ingest are for this subject, never the event's own."""
    return f"{event_id}.test"


def private_test_preview(event: Event) -> dict | None:
    """For the team's control room only: the newest private test ingest with renditions, as
    {"hls_url", "expires_at", "recording", "live", "status", "created_at"}; None before the first test."""
    rec = (Recording.objects.filter(stream__event=event, source=Recording.Source.TEST).exclude(hls_prefix="")
           .exclude(status=Recording.Status.FAILED).order_by("-created_at").first())
    if rec is None:
        return None
    token, expires_at = make_token(private_test_subject(event.pk))
    return {"hls_url": f"/streaming/hls/{event.pk}/{token}/{rec.pk}/{MASTER_PLAYLIST}", "expires_at": expires_at,
            "recording": rec.pk, "live": rec.status == Recording.Status.RECORDING, "status": rec.status,
            "created_at": rec.created_at}


# --- the HLS file hot path
# Every viewer fetches a playlist and a segment every couple of seconds, all with the same token
# and recording id: the view checks the token (one HMAC) and needs the recording's hls_prefix,
# status and source. That row is read once per HLS_LOOKUP_SECONDS per process and kept in this
# process's memory (no database and no Redis round trip per segment). A change to it (a new
# hls_prefix, a live recording finishing, a recording deleted or its renditions removed) is
# therefore honoured by every process within HLS_LOOKUP_SECONDS. Only found recordings are kept:
# an unknown or renditionless id asks the database every time, so a recording that just got its
# renditions plays at once.

HLS_LOOKUP_SECONDS = 5
HLS_LOOKUP_MAX_ENTRIES = 5000  # bounded memory: the whole table is dropped when it is full


@dataclass(frozen=True)
class HlsRecording:
    """What the HLS file view needs of a recording."""

    hls_prefix: str
    status: str
    source: str

    @property
    def live(self) -> bool:
        return self.status == Recording.Status.RECORDING

    @property
    def private_test(self) -> bool:
        return self.source == Recording.Source.TEST


_hls_lookups: dict[tuple[str, str], tuple[float, HlsRecording]] = {}


def hls_recording(event_id: str, recording_id: str) -> HlsRecording | None:
    """Recording `recording_id` of event `event_id` if it has HLS renditions, else None; read from
    the database at most once per HLS_LOOKUP_SECONDS per process (see above)."""
    key = (event_id, recording_id)
    now = time.monotonic()
    hit = _hls_lookups.get(key)
    if hit is not None and now - hit[0] < HLS_LOOKUP_SECONDS:
        return hit[1]
    row = (Recording.objects.filter(pk=recording_id, stream__event_id=event_id).exclude(hls_prefix="")
           .values_list("hls_prefix", "status", "source").first())
    if row is None:
        _hls_lookups.pop(key, None)
        return None
    if len(_hls_lookups) >= HLS_LOOKUP_MAX_ENTRIES:
        _hls_lookups.clear()
    found = HlsRecording(*row)
    _hls_lookups[key] = (now, found)
    return found


# --- clips

def clips_of_event(event: Event) -> QuerySet[Clip]:
    return Clip.objects.filter(event=event).select_related("event", "event__creator").order_by("-created_at")


def clips_of_creator(creator_id: str) -> QuerySet[Clip]:
    return (Clip.objects.filter(event__creator_id=creator_id).select_related("event", "event__creator")
            .order_by("-created_at"))


def clip_media(clip: Clip) -> dict:
    """Signed, site-relative URLs of a ready clip's file and thumbnail, and when they expire. Call
    only for someone can_view_clip admits."""

    token, expires_at = make_token(clip.pk)
    base = f"/streaming/clips/{clip.pk}/{token}"
    return {"url": f"{base}/clip.mp4", "thumbnail_url": f"{base}/thumb.jpg" if clip.thumbnail else None,
            "expires_at": expires_at, "captions": captions_track(clip, f"{base}/{CAPTIONS_FILE}")}


def replay_recording(event: Event) -> Recording | None:
    """The newest finished recording of an event with a kept file (what clips are cut from)."""
    return (Recording.objects.filter(stream__event=event, status=Recording.Status.READY).exclude(file="")
            .exclude(source=Recording.Source.TEST).order_by("-created_at").first())


# --- chat and presence ----------------------------------------------------------------------
# Who may read and write an event's chat, its recent history, and the live viewer count. The
# count lives in Redis (a sorted set of connection ids scored by their last heartbeat) so every
# web process sees the same number.

CHAT_HISTORY = 50
PRESENCE_TTL_SECONDS = 60  # a connection without a heartbeat for this long no longer counts
PRESENCE_HEARTBEAT_SECONDS = 20


@dataclass(frozen=True)
class ChatAccess:
    """What one person may do in one event's live room."""

    event_id: str
    user_id: str | None
    can_read: bool  # see chat history and new messages (and, on the watch page, the stream)
    can_post: bool  # ticket holders and the team
    can_moderate: bool  # team roles owner / manager / moderator


@functools.cache
def chat_redis():
    """A Redis client on the cache database (process-wide; redis-py clients are thread-safe)."""

    return redis.Redis.from_url(settings.CACHES["default"]["LOCATION"])


def presence_key(event_id: str) -> str:
    return f"ms:presence:{event_id}"


def chat_access(event_id: str, user) -> ChatAccess | None:
    """None when there is no such event (or it is a draft and `user` is not on its team). Reading
    follows the watch rule (`can_watch`); posting needs a valid ticket or a team role."""

    event = Event.objects.filter(pk=event_id).only("pk", "creator_id", "status").first()
    if event is None:
        return None
    signed_in = user is not None and user.is_authenticated
    role = role_of(user, event.creator_id) if signed_in else None
    team = role is not None
    if event.status == Event.Status.DRAFT and not team:
        return None
    holder = signed_in and event.status == Event.Status.PUBLISHED and holds_ticket(user, event)
    can_read = team or holder or (event.status == Event.Status.PUBLISHED and stream_is_free(event))
    return ChatAccess(event_id=event.pk, user_id=user.pk if signed_in else None, can_read=can_read,
                      can_post=team or holder, can_moderate=role in MODERATION_ROLES)


def chat_author_name(user) -> str:
    """The name shown next to a message: the display name, never the email address."""
    return user.display_name or f"guest-{user.pk[-4:]}"


def chat_payload(message) -> dict:
    return {"type": "chat", "id": message.pk, "user": chat_author_name(message.user), "user_id": message.user_id,
            "text": message.text, "sent_at": message.sent_at.isoformat()}


def recent_chat(event_id: str, limit: int = CHAT_HISTORY) -> list[dict]:
    """The last `limit` messages that were not deleted, oldest first."""

    rows = list(ChatMessage.objects.filter(event_id=event_id, deleted_at__isnull=True)
                .select_related("user").order_by("-sent_at")[:limit])
    return [chat_payload(m) for m in reversed(rows)]


def presence_member(connection_id: str, person: str = "") -> str:
    """The presence set's member for one watching connection: "<person>|<connection>" when we know
    who watches (a signed-in user), else the connection alone."""
    return f"{person}|{connection_id}" if person else connection_id


def viewer_count(event_id: str) -> int:
    """People watching the event right now, across all web processes: one person's many sockets
    (tabs, devices, or a script opening hundreds) count once."""
    r = chat_redis()
    key = presence_key(event_id)
    pipe = r.pipeline(transaction=True)
    pipe.zremrangebyscore(key, "-inf", time.time() - PRESENCE_TTL_SECONDS)
    pipe.zrange(key, 0, -1)
    members = pipe.execute()[1]
    return len({(m.decode("utf-8", "replace") if isinstance(m, bytes) else m).split("|", 1)[0] for m in members})


def stock_snapshot(event_id: str) -> list[dict]:
    """Current "n left" of every tier, as {"type": "stock"} frames carry it."""

    event = Event.objects.filter(pk=event_id).first()
    if event is None:
        return []
    return ([{"item": t.pk, "available": t.available} for t in tiers_with_availability(event)]
            + [{"item": d.pk, "available": d.available} for d in drops_with_availability(event)])


def slow_mode_seconds(event_id: str) -> int:

    return LiveStream.objects.filter(event_id=event_id).values_list("slow_mode_seconds", flat=True).first() or 0


def muted_until(event_id: str, user_id) -> datetime | None:
    """Until when a moderator muted this person in the event's chat (None: not muted)."""
    if not user_id:
        return None
    return (ChatMute.objects.filter(event_id=event_id, user_id=user_id, until__gt=timezone.now())
            .values_list("until", flat=True).first())


def resync(access: ChatAccess) -> dict:
    """What a (re)connecting client needs to catch up: recent chat, counts and its own rights (a muted
    person reads but may not post until `muted_until`)."""
    muted = muted_until(access.event_id, access.user_id)
    return {"type": "resync", "messages": recent_chat(access.event_id) if access.can_read else [],
            "viewers": viewer_count(access.event_id), "stock": stock_snapshot(access.event_id),
            "slow_mode_seconds": slow_mode_seconds(access.event_id),
            "can_post": access.can_post and muted is None, "can_moderate": access.can_moderate,
            "muted_until": muted.isoformat() if muted else None}


# --- watch page and control room ------------------------------------------------------------
# What the watch page shows before, during and after a show, and the control room's preflight.

PREFLIGHT_HEALTH_FRESH_SECONDS = 30


def show_state(event: Event, stream: LiveStream | None, now=None) -> str:
    """"cancelled", "live" (the stream is publishing), "after" (ended, or past the end) or "before"."""

    now = now or timezone.now()
    if event.status == Event.Status.CANCELLED:
        return "cancelled"
    if stream is not None and stream.status == LiveStream.Status.LIVE:
        return "live"
    if (stream is not None and stream.status == LiveStream.Status.ENDED) or now >= event.ends_at:
        return "after"
    return "before"


def _recording_has_hls(recording: Recording) -> bool:

    try:
        return default_storage.exists(f"{recording.hls_prefix.rstrip('/')}/{MASTER_PLAYLIST}")
    except Exception:  # a storage outage is a failed check, not a crash
        return False


def preflight(event: Event, now=None) -> dict:
    """The control room's checklist before doors: one line per check, each "pass", "fail" or "n/a"."""


    now = now or timezone.now()
    stream = LiveStream.objects.filter(event=event).first()
    lines = []

    def line(key, label, status, detail):
        lines.append({"key": key, "label": label, "status": status, "detail": detail})

    if stream is None:
        line(
            "ingest", _("Ingest receiving"), "fail", _("No stream set up yet: open the ingest page for the stream key.")
        )
    else:
        fresh = stream.health_at is not None and (now - stream.health_at).total_seconds() <= \
            PREFLIGHT_HEALTH_FRESH_SECONDS
        if stream.status == LiveStream.Status.LIVE and fresh:
            line("ingest", _("Ingest receiving"), "pass", _("The encoder is publishing and reporting health."))
        elif stream.status == LiveStream.Status.LIVE:
            line("ingest", _("Ingest receiving"), "fail",
                 _("Publishing, but no health report in the last %(seconds)s s: check the encoder and the "
                   "transcoder.") % {"seconds": PREFLIGHT_HEALTH_FRESH_SECONDS})
        else:
            line(
                "ingest",
                _("Ingest receiving"),
                "fail",
                _("Nothing is publishing: start your encoder (or a rehearsal)."),
            )
    recordings = (list(Recording.objects.filter(stream=stream).exclude(hls_prefix="")
                       .exclude(status=Recording.Status.FAILED).order_by("-created_at")[:3]) if stream else [])
    if any(_recording_has_hls(r) for r in recordings):
        line("renditions", _("Renditions produced"), "pass", _("HLS playlists are being written."))
    else:
        line("renditions", _("Renditions produced"), "fail", _("No HLS renditions yet."))
    tiers = tiers_with_availability(event, now)
    selling = [t for t in tiers if t.is_on_sale and t.available > 0]
    if selling:
        line(
            "tickets",
            _("Tickets on sale"),
            "pass",
            _("%(selling)s of %(tiers)s tiers on sale, %(left)s tickets left.")
            % {"selling": len(selling), "tiers": len(tiers), "left": sum(t.available for t in selling)},
        )
    else:
        line("tickets", _("Tickets on sale"), "fail", _("No tier is on sale with tickets left.") if tiers
             else _("The event has no ticket tiers."))
    provider = settings.PAYMENTS_PROVIDER
    if provider == "stripe" and settings.STRIPE_SECRET_KEY and settings.STRIPE_WEBHOOK_SECRET:
        line("payments", _("Payments configured"), "pass",
             _("Stripe, live mode.") if settings.STRIPE_LIVE_MODE else _("Stripe, test keys."))
    elif provider == "stripe":
        line(
            "payments",
            _("Payments configured"),
            "fail",
            _("Stripe is selected but its secret or webhook key is missing."),
        )
    else:
        line("payments", _("Payments configured"), "fail",
             _("Provider “%(provider)s”: test mode, payments are simulated and no money is taken.")
             % {"provider": provider})
    drops = [d for d in drops_with_availability(event, now) if d.state != "ended"]
    if not drops:
        line("drops", _("Drops stocked"), "n/a", _("No live or scheduled drops for this show."))
    else:
        empty = [d.name for d in drops if d.quantity < 1 or not d.product.is_active]
        if empty:
            line("drops", _("Drops stocked"), "fail", _("No quantity or product switched off: %(drops)s.")
                 % {"drops": ", ".join(empty)[:200]})
        else:
            line(
                "drops",
                _("Drops stocked"),
                "pass",
                ngettext(
                    "%(count)s drop ready, %(left)s items left.",
                    "%(count)s drops ready, %(left)s items left.",
                    len(drops),
                )
                % {"count": len(drops), "left": sum(d.available for d in drops)},
            )
    return {"event": event.pk, "checked_at": now.isoformat(), "lines": lines,
            "ok": all(x["status"] != "fail" for x in lines)}


def last_preflight(event_id: str) -> dict | None:
    """The last automatic preflight run (Celery beat), if one ran recently."""

    return cache.get(f"streaming:preflight:{event_id}")


def control_status(event: Event) -> dict:
    """Stream health and audience for the control room (polled by the page)."""

    stream = LiveStream.objects.filter(event=event).first()
    health = dict(stream.health or {}) if stream else {}
    age = int((timezone.now() - stream.health_at).total_seconds()) if stream and stream.health_at else None
    return {"status": stream.status if stream else "none", "health": health, "health_age_seconds": age,
            "health_fresh": age is not None and age <= PREFLIGHT_HEALTH_FRESH_SECONDS,
            "viewers": viewer_count(event.pk), "peak_viewers": stream.peak_viewers if stream else 0,
            "slow_mode_seconds": stream.slow_mode_seconds if stream else 0,
            "program": stream.program_mode if stream else "live", "alerts": _alerts(stream)}


def _alerts(stream) -> list[dict]:
    return open_alerts(stream)


def open_alerts(stream: LiveStream | None) -> list[dict]:
    """The stream's unresolved incidents, oldest first (streaming/alerts.py opens and resolves them)."""
    if stream is None:
        return []
    return [{"id": i.pk, "kind": i.kind, "label": str(i.get_kind_display()), "detail": i.detail,
             "since": i.started_at.isoformat()}
            for i in StreamIncident.objects.filter(stream=stream, resolved_at__isnull=True).order_by("started_at")]


# --- ingest heartbeats ---------------------------------------------------------------------------
# streaming/services/ingest.py writes these (nginx's on_update, the transcoder) and the stop flags the
# transcoder polls; a heartbeat expires by itself, so a lost on_publish_done cannot block a key for good.

_KEY_NAMES = ("main", "backup", "file")  # what puts the show on air (the test key never does)


def heartbeat_key(stream_id: str, which: str) -> str:
    return f"ms:ingest:publishing:{stream_id}:{which}"


def stop_key(recording_id: str) -> str:
    return f"ms:ingest:stop:{recording_id}"


def is_publishing(stream, which: str | None = None) -> bool:
    """A fresh heartbeat for that key (or any key)."""

    names = [which] if which else list(_KEY_NAMES)
    return any(cache.get(heartbeat_key(stream.pk, n)) for n in names)


def stop_requested(recording_id: str) -> bool:

    return bool(cache.get(stop_key(recording_id)))


# --- preflight, by itself ------------------------------------------------------------------------

PREFLIGHT_WINDOW_HOURS = 3  # how long before doors the checklist starts running by itself


def preflight_due_events(now=None) -> list[str]:
    """Published events whose doors are within the preflight window (and not over)."""


    now = now or timezone.now()
    return list(Event.objects.filter(status=Event.Status.PUBLISHED, starts_at__lte=now + timedelta(
        hours=PREFLIGHT_WINDOW_HOURS), ends_at__gt=now).exclude(mode=Event.Mode.IN_PERSON)
        .values_list("pk", flat=True))
