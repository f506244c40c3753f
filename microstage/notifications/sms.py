"""SMS providers behind one small interface, chosen by URL like email (`MICROSTAGE_SMS_URL`).

- `console://` (development and tests): prints the message and keeps the last ones in `outbox`.
- `twilio://ACCOUNT_SID:AUTH_TOKEN@FROM` with FROM a sender number (`+15551234567`) or a messaging
  service id (`MG…`): sent through Twilio's official `twilio` library.
"""
import logging
import sys
from collections import deque
from functools import lru_cache
from urllib.parse import unquote, urlsplit

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured

log = logging.getLogger(__name__)

outbox: deque = deque(maxlen=500)  # what the console backend "sent", newest last (tests read it)


class SmsError(Exception):
    """The provider refused or could not be reached; the message is recorded as failed."""


class SmsBackend:
    def send(self, to: str, body: str) -> str:
        """Send `body` to the E.164 number `to`; return the provider's message id or raise SmsError."""
        raise NotImplementedError


class ConsoleBackend(SmsBackend):
    def send(self, to: str, body: str) -> str:
        outbox.append({"to": to, "body": body})
        sys.stdout.write(f"SMS to {to}: {body}\n")
        sys.stdout.flush()
        return f"console-{len(outbox)}"


class TwilioBackend(SmsBackend):
    def __init__(self, account_sid: str, auth_token: str, sender: str):
        from twilio.rest import Client

        self.sender = sender
        self.client = Client(account_sid, auth_token)

    def send(self, to: str, body: str) -> str:
        from twilio.base.exceptions import TwilioException

        sender = {"messaging_service_sid": self.sender} if self.sender.startswith("MG") else {"from_": self.sender}
        try:
            message = self.client.messages.create(to=to, body=body, **sender)
        except TwilioException as exc:
            raise SmsError(str(exc)[:400]) from exc
        except OSError as exc:  # the network: requests' errors are OSErrors
            raise SmsError(f"Twilio could not be reached: {exc}"[:400]) from exc
        return message.sid


def backend_from_url(url: str) -> SmsBackend:
    parts = urlsplit(url)
    if parts.scheme == "console":
        return ConsoleBackend()
    if parts.scheme == "twilio":
        # The sender is the "host" part; a leading "+" is kept as written.
        sender = unquote(parts.netloc.rpartition("@")[2])
        if not (parts.username and parts.password and sender):
            raise ImproperlyConfigured("MICROSTAGE_SMS_URL: use twilio://ACCOUNT_SID:AUTH_TOKEN@+15551234567")
        return TwilioBackend(unquote(parts.username), unquote(parts.password), sender)
    raise ImproperlyConfigured(f"MICROSTAGE_SMS_URL: unknown SMS provider {parts.scheme!r} (console, twilio)")


@lru_cache(maxsize=4)
def _backend(url: str) -> SmsBackend:
    return backend_from_url(url)


def get_backend() -> SmsBackend:
    return _backend(settings.SMS_URL)
