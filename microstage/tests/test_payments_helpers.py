"""Shared fixtures and helpers for the payments gateway tests (no tests of its own)."""
import hashlib
import hmac
import json
import os
import socket
import subprocess
import sys
import threading
import time
import urllib.request
from decimal import Decimal
from pathlib import Path

import pytest
import stripe

from microstage import payments

PURPOSE = "test.order"
WEBHOOK_SECRET = "whsec_test_microstage"


class Recorder:
    """Registers handlers for PURPOSE and records every call (thread-safe, for the concurrency tests)."""

    def __init__(self, delay: float = 0.0):
        self.calls: list[tuple] = []
        self.delay = delay
        self._lock = threading.Lock()

    def _record(self, name):
        def callback(payment, *extra):
            time.sleep(self.delay)  # widens the race window in concurrency tests
            with self._lock:
                self.calls.append((name, payment.id, *extra))
        return callback

    def register(self):
        payments.register_handler(PURPOSE, **{f"on_{name}": self._record(name) for name in (
            "paid", "authorized", "failed", "cancelled", "refunded", "subscription_ended")})

    def names(self) -> list[str]:
        return [call[0] for call in self.calls]


@pytest.fixture
def recorder():
    rec = Recorder()
    rec.register()
    yield rec
    payments.unregister_handler(PURPOSE)


@pytest.fixture
def sandbox(settings):
    settings.PAYMENTS_PROVIDER = "sandbox"
    return settings


@pytest.fixture
def stripe_settings(settings):
    settings.PAYMENTS_PROVIDER = "stripe"
    settings.STRIPE_SECRET_KEY = "sk_test_microstage0000000000000000"
    settings.STRIPE_WEBHOOK_SECRET = WEBHOOK_SECRET
    settings.PAYMENTS_DJSTRIPE_SYNC = False
    return settings


def signed_headers(body: bytes, secret: str = WEBHOOK_SECRET, timestamp: int | None = None) -> dict:
    """The Stripe-Signature header Stripe would send: t=<ts>,v1=<hex HMAC-SHA256(secret, "<ts>.<body>")>."""
    ts = int(time.time()) if timestamp is None else timestamp
    mac = hmac.new(secret.encode(), f"{ts}.".encode() + body, hashlib.sha256).hexdigest()
    return {"HTTP_STRIPE_SIGNATURE": f"t={ts},v1={mac}"}


def stripe_event(event_id: str, kind: str, obj: dict) -> bytes:
    return json.dumps({"id": event_id, "object": "event", "type": kind, "api_version": "2024-12-18.acacia",
                       "created": int(time.time()), "livemode": False, "data": {"object": obj}}).encode()


def post_webhook(client, body: bytes, headers: dict):
    return client.post("/payments/stripe/webhook/", data=body, content_type="application/json", **headers)


def sandbox_checkout(amount="12.50", capture="automatic", reference="ord_1"):
    from microstage.payments import services

    return services.start_checkout(amount=Decimal(amount), currency="EUR", description="Two tickets to Night Show",
                                   purpose=PURPOSE, reference=reference, success_url="/done/", cancel_url="/back/",
                                   capture=capture)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture(scope="module")
def localstripe_url(tmp_path_factory):
    """A private localstripe server on a free port for this module; stopped afterwards."""
    port = _free_port()
    binary = Path(sys.executable).with_name("localstripe")
    log = open(tmp_path_factory.mktemp("localstripe") / "localstripe.log", "w")  # noqa: SIM115
    proc = subprocess.Popen([str(binary), "--port", str(port), "--from-scratch"], stdout=log, stderr=subprocess.STDOUT,
                            cwd=tmp_path_factory.getbasetemp(), env={**os.environ, "PYTHONUNBUFFERED": "1"})
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 20
    while True:
        try:
            request = urllib.request.Request(f"{url}/v1/customers", headers={"Authorization": "Bearer sk_test_x"})
            with urllib.request.urlopen(request, timeout=1):
                break
        except OSError:
            if proc.poll() is not None or time.monotonic() > deadline:
                proc.kill()
                log.close()
                pytest.fail("localstripe did not start")
            time.sleep(0.1)
    yield url
    proc.terminate()
    try:
        proc.wait(timeout=10)
    except subprocess.TimeoutExpired:
        proc.kill()
    log.close()
    stripe.api_base = "https://api.stripe.com"


@pytest.fixture
def localstripe(localstripe_url, stripe_settings):
    stripe_settings.STRIPE_API_HOST = localstripe_url
    yield localstripe_url
    stripe.api_base = "https://api.stripe.com"
