"""Websocket consumers: an event's live channel (stock, group-buy, chat, presence)."""
import asyncio
import json
import logging
import random
from urllib.parse import parse_qs

from channels.db import database_sync_to_async
from channels.generic.websocket import AsyncWebsocketConsumer
from channels.layers import get_channel_layer
from django.http import HttpRequest
from django.http.cookie import parse_cookie
from django.utils import translation
from django.utils.translation import gettext as _

from microstage.channel_layer import run_eagerly
from microstage.errors import ServiceError
from microstage import i18n, safejson
from microstage.realtime import ACCESS_CHANGED, event_group, user_event_group

from . import selectors
from .services import chat, presence

log = logging.getLogger(__name__)
MAX_FRAME_CHARS = 8192
# Frames only those who may read the chat receive; everything else in the group is public
# (stock counts, viewer count, check-in counters).
CHAT_TYPES = frozenset({"chat", "chat_deleted"})
_background: set[asyncio.Task] = set()


def _spawn(coro) -> None:
    """Run `coro` on the server's loop beyond the life of one connection (keeps a reference)."""
    task = asyncio.get_running_loop().create_task(coro)
    _background.add(task)
    task.add_done_callback(_background.discard)


async def announce_presence(event_id: str) -> None:
    """Broadcast the viewer count, throttled per event across processes; a throttled caller tries
    again when the window ends, so the count after the last join or leave is always announced."""
    for _attempt in range(2):
        try:
            viewers, wait = await database_sync_to_async(presence.claim_presence_broadcast)(event_id)
            if viewers is not None:
                await get_channel_layer().group_send(
                    event_group(event_id), {"type": "broadcast", "payload": {"type": "presence", "viewers": viewers}})
                return
        except Exception:  # presence is a nicety: it must never take a connection down
            log.exception("presence broadcast for %s failed", event_id)
            return
        await asyncio.sleep(wait + 0.05)


def _error(code: str, detail: str, **extra) -> dict:
    return {"type": "error", "code": code, "detail": detail, **extra}


def scope_language(scope, event_id: str | None = None) -> str:
    """The language the socket's human texts are in, chosen as for the event's page (microstage.i18n):
    the account's language, the language cookie, the browser's Accept-Language, then the event's own
    language, else the site's default. May read the database: call it from a thread."""
    user = scope.get("user")
    if user is not None and getattr(user, "is_authenticated", False):
        found = i18n.supported(getattr(user, "language", ""))
        if found:
            return found
    request = HttpRequest()
    headers = {name.lower(): value for name, value in scope.get("headers") or []}
    request.META["HTTP_ACCEPT_LANGUAGE"] = headers.get(b"accept-language", b"").decode("latin-1")
    request.COOKIES = scope.get("cookies") or parse_cookie(headers.get(b"cookie", b"").decode("latin-1"))
    code, chosen = i18n.request_language(request)
    if chosen or not event_id:
        return code
    from events.models import Event

    return i18n.supported(Event.objects.filter(pk=event_id).values_list("language", flat=True).first()) or code


class EventConsumer(AsyncWebsocketConsumer):
    """Joins the event's group and relays what the platform publishes to it; takes chat and
    moderation frames from the client and hands them to streaming.services.chat.

    Watch pages connect with `?watch=1` and are counted as viewers (presence); other clients (the
    landing page's stock counter, the control room) are not."""

    access: selectors.ChatAccess | None = None
    watching = False
    person = ""
    heartbeat: asyncio.Task | None = None
    user_group: str | None = None
    language: str | None = None
    ACCESS_REVOKED_CLOSE_CODE = 4403
    # The relay (microstage.channel_layer): group frames reach the socket in the channel layer's
    # receiving task, not through this consumer's queue. Off while the consumer writes a resync (so
    # no frame overtakes it) and after it closes; `sending` is a relayed send that had to wait.
    relaying = False
    closing = False
    sending: asyncio.Task | None = None

    async def connect(self):
        self.event_id = self.scope["url_route"]["kwargs"]["event_id"]
        self.language = await database_sync_to_async(scope_language)(self.scope, self.event_id)
        self.group = event_group(self.event_id)
        self.user = self.scope.get("user")
        query = parse_qs(self.scope.get("query_string", b"").decode("latin-1"))
        self.access = await database_sync_to_async(selectors.chat_access)(self.event_id, self.user)
        await self.channel_layer.group_add(self.group, self.channel_name)
        await self.accept()
        if self.access is None:  # unknown event: public relay only (nothing to chat in)
            return
        if self.access.user_id:  # told when a refund, transfer or mute changes this person's rights
            self.user_group = user_event_group(self.access.user_id, self.event_id)
            await self.channel_layer.group_add(self.user_group, self.channel_name)
        self.person = str(self.access.user_id or "")  # presence counts people, not sockets
        self.watching = self.access.can_read and query.get("watch") == ["1"]
        if self.watching:
            await database_sync_to_async(presence.presence_join)(self.event_id, self.channel_name, self.person)
            self.heartbeat = asyncio.create_task(self._heartbeat())
            _spawn(announce_presence(self.event_id))
        await self._resync()

    async def disconnect(self, code):
        self.closing = True
        self._relay_off()
        if self.heartbeat is not None:
            self.heartbeat.cancel()
        if hasattr(self, "group"):
            await self.channel_layer.group_discard(self.group, self.channel_name)
        if self.user_group:
            await self.channel_layer.group_discard(self.user_group, self.channel_name)
        if self.watching:
            try:
                await database_sync_to_async(presence.presence_leave)(self.event_id, self.channel_name, self.person)
            finally:
                _spawn(announce_presence(self.event_id))

    async def _heartbeat(self):
        # The first beat comes after a random part of the interval: watchers who joined together (a drop
        # announced on stream brings hundreds in a second) would otherwise all write presence at the
        # same moment, every interval, and hold up the frames of that moment.
        await asyncio.sleep(random.uniform(0, selectors.PRESENCE_HEARTBEAT_SECONDS))
        while True:
            try:
                await database_sync_to_async(presence.presence_join)(self.event_id, self.channel_name, self.person)
            except Exception:
                log.exception("presence heartbeat failed")
            await asyncio.sleep(selectors.PRESENCE_HEARTBEAT_SECONDS)

    async def _resync(self):
        self._relay_off()  # frames that arrive meanwhile queue up behind the snapshot
        snapshot = await database_sync_to_async(selectors.resync)(self.access)
        await self._sent()
        await self.send_json(snapshot)  # the relay resumes after the next queued frame (dispatch)

    # --- the relay ------------------------------------------------------------------------------
    def _relay_on(self) -> None:
        """Take group frames straight from the channel layer again, once nothing waits in the queue."""
        if self.relaying or self.closing or self.sending is not None:
            return
        attach = getattr(self.channel_layer, "relay_to", None)  # other layers (tests, core) have none
        if attach is not None:
            self.relaying = attach(self.channel_name, self.relay)

    def _relay_off(self) -> None:
        if self.relaying:
            self.relaying = False
            self.channel_layer.stop_relay(self.channel_name)

    def relay(self, message: dict) -> bool:
        """Called by the channel layer as a message arrives: send a public or chat group frame now and
        say True; anything else (an access change, a direct message) takes the queue and channels'
        dispatch, and the relay is off until the queue is empty again."""
        if (not self.relaying or message.get("type") != "broadcast"
                or message["payload"].get("type") == ACCESS_CHANGED):
            self.relaying = False
            return False
        try:
            pending = run_eagerly(self.broadcast(message))
        except Exception:  # a socket that went away: its consumer is closing and discards the rest
            log.debug("relayed frame not sent", exc_info=True)
            return True
        if pending is not None:  # this socket's buffer is full: later frames queue behind this one
            self.relaying = False
            self.sending = pending
            pending.add_done_callback(self._send_done)
            return True
        return True

    def _send_done(self, task: asyncio.Task) -> None:
        self.sending = None
        if not task.cancelled() and task.exception() is not None:
            log.debug("relayed frame not sent", exc_info=task.exception())

    async def _sent(self) -> None:
        """Wait for a relayed frame still being written, so what this consumer sends next comes after it."""
        pending = self.sending
        if pending is not None:
            await asyncio.wait([pending])
            if self.sending is pending:
                self.sending = None

    async def send_json(self, content):
        await self.send(text_data=json.dumps(content))

    # --- from the client ----------------------------------------------------------------------
    async def receive(self, text_data=None, bytes_data=None):
        # The services called from here see the language too (the context travels to their threads).
        with translation.override(self.language):
            return await self._receive(text_data)

    async def _receive(self, text_data):
        if text_data is None:
            return await self.send_json(_error("invalid", _("Send JSON text frames.")))
        if len(text_data) > MAX_FRAME_CHARS:
            return await self.send_json(_error("too_long", _("That frame is too large.")))
        try:
            content = safejson.loads(text_data, allow_nul=True)  # chat turns controls into spaces
        except safejson.Refused as exc:
            return await self.send_json(_error("invalid", str(exc)))
        except ValueError:
            return await self.send_json(_error("invalid", _("That was not valid JSON.")))
        if not isinstance(content, dict) or not isinstance(content.get("type"), str):
            return await self.send_json(_error("invalid", _('Frames are JSON objects with a "type".')))
        handler = self.HANDLERS.get(content["type"])
        if handler is None:
            return await self.send_json(
                _error("invalid", _("Unknown type %(type)s.") % {"type": repr(content["type"][:40])})
            )
        if self.access is None and handler is not EventConsumer._ping:
            return await self.send_json(_error("not_found", _("No such event.")))
        try:
            reply = await handler(self, content)
        except ServiceError as exc:
            extra = {k: v for k, v in exc.extra.items() if isinstance(v, str | int | float | None)}
            reply = _error(exc.code, exc.detail, **extra)
        except Exception:  # never take the socket down for one bad frame
            log.exception("chat frame failed")
            reply = _error("server_error", _("Something went wrong; try again."))
        if reply is not None:
            await self.send_json(reply)

    async def _chat(self, content):
        await database_sync_to_async(chat.post_chat)(event_id=self.event_id, user=self.user,
                                                         text=content.get("text"))
        # The message itself comes back through the group like everyone else's.

    async def _delete(self, content):
        await database_sync_to_async(chat.delete_chat)(event_id=self.event_id, message_id=content.get("id"),
                                                           actor=self.user)

    async def _mute(self, content):
        return await database_sync_to_async(chat.mute_chat_user)(
            event_id=self.event_id, user_id=content.get("user"), minutes=content.get("minutes"), actor=self.user)

    async def _slow_mode(self, content):
        await database_sync_to_async(chat.set_slow_mode)(event_id=self.event_id, seconds=content.get("seconds"),
                                                             actor=self.user)

    async def _ping(self, content):
        return {"type": "pong"}

    async def _resync_request(self, content):
        await self._resync()

    HANDLERS = {"chat": _chat, "delete": _delete, "mute": _mute, "slow_mode": _slow_mode, "ping": _ping,
                "resync": _resync_request}

    # --- from the group -----------------------------------------------------------------------
    async def dispatch(self, message):
        # channels' dispatch first closes stale database connections through the one thread sync code
        # runs on, for every message. A group frame goes to every watcher of this process: 500 hops,
        # queued one after another on that thread (with the chat posts and heartbeats), per frame.
        # Relaying touches no database (an access recheck goes through database_sync_to_async, which
        # closes stale connections itself), so group frames skip the hop; client frames keep it.
        if message["type"].startswith("websocket."):  # from the client
            return await super().dispatch(message)
        try:
            if message["type"] == "broadcast":
                await self._sent()
                return await self.broadcast(message)
            return await super().dispatch(message)
        finally:
            # A channel message was handled, and channels starts taking the next one only after this
            # returns: none is held anywhere but in the queue, so with the queue empty the relay
            # cannot overtake one. (Not after client frames: a message may wait in a finished task.)
            self._relay_on()

    async def broadcast(self, message):
        payload = message["payload"]
        if payload.get("type") == ACCESS_CHANGED:
            return await self._recheck_access()
        if payload.get("type") in CHAT_TYPES and not (self.access and self.access.can_read):
            return
        # The channel layer hands the same message object to every consumer of this process:
        # serialise it once, not once per client (500 watchers -> 1 json.dumps, not 500).
        text = message.get("_text")
        if text is None:
            text = message["_text"] = json.dumps(payload)
        await self.send(text_data=text)

    async def _recheck_access(self):
        """This person's rights changed (refund, transfer, mute): without read access the socket closes;
        otherwise the new rights go out in a resync (e.g. read-only while muted)."""
        access = await database_sync_to_async(selectors.chat_access)(self.event_id, self.user)
        if access is None or not access.can_read:
            self.access = None
            self.closing = True
            self._relay_off()
            with translation.override(self.language):
                detail = _("Your ticket no longer admits you to this show's chat.")
            await self.send_json(_error("access_revoked", detail))
            await self.close(code=self.ACCESS_REVOKED_CLOSE_CODE)
            return
        self.access = access
        await self._resync()
