"""Shared set-up for the live-room tests: an event with a team, ticket holders and strangers, API
tokens for each, and websocket helpers (WebsocketCommunicator against the real ASGI app)."""
import asyncio
import json
from dataclasses import dataclass, field

from channels.testing import WebsocketCommunicator
from rest_framework.authtoken.models import Token

from commerce import services as commerce
from events.models import Event, Ticket
from events.models import TICKET_KIND
from events.tests.factories import EventFactory, TierFactory
from microstage.models import Role
from microstage.tests.factories import UserFactory, team_member

HEADERS = [(b"origin", b"http://127.0.0.1:8000"), (b"host", b"127.0.0.1:8000")]


def buy(tier, buyer, quantity=1) -> list[Ticket]:
    order = commerce.reserve(requests=[commerce.LineRequest(TICKET_KIND, tier.pk, quantity)], buyer=buyer)
    commerce.sandbox_pay(order.pk)
    return list(Ticket.objects.filter(order_line__order=order))


@dataclass
class Room:
    event: Event
    tier: object
    owner: object
    moderator: object
    door: object
    holder: object
    holder2: object
    stranger: object
    tokens: dict = field(default_factory=dict)


def make_room(**event_kwargs) -> Room:
    """Run with settings.PAYMENTS_PROVIDER = "sandbox"."""
    event = EventFactory(mode=Event.Mode.HYBRID, **event_kwargs)
    tier = TierFactory(event=event, quantity=20)
    owner = team_member(event.creator, Role.OWNER, UserFactory(display_name="Olga Owner"))
    room = Room(event=event, tier=tier, owner=owner,
                moderator=team_member(event.creator, Role.MODERATOR, UserFactory(display_name="Mo Derator")),
                door=team_member(event.creator, Role.DOOR, UserFactory(display_name="Dora Door")),
                holder=UserFactory(display_name="Hanna Holder"), holder2=UserFactory(display_name="Hugo Holder"),
                stranger=UserFactory(display_name="Sam Stranger"))
    buy(tier, room.holder)
    buy(tier, room.holder2)
    for name in ("owner", "moderator", "door", "holder", "holder2", "stranger"):
        room.tokens[name] = Token.objects.create(user=getattr(room, name)).key
    return room


async def connect(event_id: str, token: str | None = None, watch: bool = False, resync: bool = True):
    """A connected communicator; its resync frame is read and kept as `.resync` (when one comes)."""
    from microstage.asgi import application

    query = "&".join(p for p in (f"token={token}" if token else "", "watch=1" if watch else "") if p)
    comm = WebsocketCommunicator(application, f"/ws/events/{event_id}/" + (f"?{query}" if query else ""),
                                 headers=HEADERS)
    connected, _ = await comm.connect(timeout=10)
    assert connected
    comm.resync = await receive_type(comm, "resync") if resync else None
    return comm


async def receive_type(comm, kind: str, timeout: float = 5.0, **match) -> dict:
    """The next frame of type `kind` (with the given field values), skipping others."""
    while True:
        frame = await comm.receive_json_from(timeout=timeout)
        if frame.get("type") == kind and all(frame.get(k) == v for k, v in match.items()):
            return frame


async def send(comm, payload) -> None:
    await comm.send_to(text_data=payload if isinstance(payload, str) else json.dumps(payload))


async def nothing_of_type(comm, kind: str, timeout: float = 0.6, **match) -> bool:
    """True when no frame of type `kind` (with the given field values) arrived within `timeout` (others
    are dropped). Reads the queue directly: a timed-out receive_output would cancel the application."""
    await asyncio.sleep(timeout)
    while not comm.output_queue.empty():
        message = comm.output_queue.get_nowait()
        if message.get("type") != "websocket.send":
            continue
        frame = json.loads(message.get("text") or "{}")
        if frame.get("type") == kind and all(frame.get(k) == v for k, v in match.items()):
            return False
    return True


# --- real servers (pytest-django's live_server is WSGI-only: no websockets) ---------------------

class UvicornServer:
    """`uvicorn microstage.asgi:application` in a subprocess on a free port, against the test
    database (pytest-django's, whose name differs from DATABASE_URL's) and the tests' Redis."""

    def __init__(self, **env):
        import socket

        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            self.port = s.getsockname()[1]
        self.url = f"http://127.0.0.1:{self.port}"
        self.ws_url = f"ws://127.0.0.1:{self.port}"
        self.extra_env = env
        self.proc = None

    def __enter__(self):
        import os
        import subprocess
        import sys
        import tempfile
        import time
        import urllib.request
        from pathlib import Path
        from urllib.parse import quote

        from django.conf import settings
        from django.db import connection

        db = connection.settings_dict
        auth = db["USER"] + (f":{db['PASSWORD']}" if db.get("PASSWORD") else "")
        host = db["HOST"] or "127.0.0.1"
        if host.startswith("/"):  # a unix socket directory (the embedded PostgreSQL): django-environ's form
            url = f"postgres://{auth}@/{quote(host, safe='')}/{db['NAME']}"
        else:
            url = f"postgres://{auth}@{host}:{db['PORT'] or 5432}/{db['NAME']}"
        env = dict(os.environ, DATABASE_URL=url,
                   MICROSTAGE_DB_POOL_MAX="4", MICROSTAGE_DB_POOL_MIN="1",
                   MICROSTAGE_PRESENCE_THROTTLE_SECONDS=str(settings.PRESENCE_THROTTLE_SECONDS),
                   MICROSTAGE_PAYMENTS_PROVIDER=settings.PAYMENTS_PROVIDER, **self.extra_env)
        self.log = tempfile.NamedTemporaryFile(prefix="ms-test-uvicorn-", suffix=".log", delete=False)
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "uvicorn", "microstage.asgi:application", "--host", "127.0.0.1", "--port",
             str(self.port), "--lifespan", "off", "--no-access-log"],
            cwd=Path(settings.BASE_DIR), env=env, stdout=self.log, stderr=subprocess.STDOUT, start_new_session=True)
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"uvicorn exited: {self.tail()}")
            try:
                with urllib.request.urlopen(self.url + "/api/v1/ping", timeout=2) as resp:
                    if resp.status == 200:
                        return self
            except OSError:
                time.sleep(0.2)
        self.__exit__(None, None, None)
        raise RuntimeError(f"uvicorn did not start: {self.tail()}")

    def __exit__(self, *exc):
        import os
        import signal
        import subprocess
        from pathlib import Path

        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait(5)
        self.log.close()
        Path(self.log.name).unlink(missing_ok=True)

    def tail(self, lines: int = 40) -> str:
        from pathlib import Path

        self.log.flush()
        return "\n".join(Path(self.log.name).read_text(errors="replace").splitlines()[-lines:])


class WsClient:
    """A blocking websocket client (the `websockets` library) with a "next frame of type" helper."""

    def __init__(self, server: UvicornServer, event_id: str, token: str | None = None, watch: bool = False):
        from websockets.sync.client import connect as ws_connect

        query = "&".join(p for p in (f"token={token}" if token else "", "watch=1" if watch else "") if p)
        self.ws = ws_connect(f"{server.ws_url}/ws/events/{event_id}/" + (f"?{query}" if query else ""),
                             origin=server.url, open_timeout=10).__enter__()  # closed by close()
        self.resync = self.next("resync")

    def send(self, payload: dict) -> None:
        self.ws.send(json.dumps(payload))

    def next(self, kind: str, timeout: float = 10.0, **match) -> dict:
        import time

        deadline = time.monotonic() + timeout
        while True:
            frame = json.loads(self.ws.recv(timeout=max(0.05, deadline - time.monotonic())))
            if frame.get("type") == kind and all(frame.get(k) == v for k, v in match.items()):
                return frame

    def close(self) -> None:
        self.ws.close()
