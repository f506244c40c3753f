"""A rush's sold_out answered at the ASGI layer (commerce/api/refusal_asgi.py): the same status, body and
headers as Django's answer, without reaching Django; everything else (sales, bad or revoked tokens, bad
bodies, sessions, other languages of the body) reaches Django with its body intact.

Commits for real: the snapshot is written when a sale commits, and the token is checked on another
thread's connection, which sees only committed rows.
"""
import asyncio
import json

import pytest
from asgiref.sync import async_to_sync
from django.db import connection
from django.test.utils import CaptureQueriesContext
from rest_framework.authtoken.models import Token

from commerce.api.refusal_asgi import MAX_BODY, SoldOutFastPath, _authenticated
from commerce.models import Order
from microstage.admission import Admission
from microstage.asgi import application, django_asgi_app
from microstage.tests.factories import UserFactory

from .test_api_orders import reserve

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def fast(django_app):
    return SoldOutFastPath(django_app)


class Answer:
    def __init__(self, messages):
        self.status = messages[0]["status"]
        self.headers = sorted((k.decode().lower(), v.decode()) for k, v in messages[0]["headers"])
        self.body = b"".join(m.get("body", b"") for m in messages[1:])

    def json(self):
        return json.loads(self.body)


def post(app, body, **kw) -> Answer:
    return async_to_sync(apost)(app, body, **kw)


async def apost(app, body, *, token=None, headers=(), chunks=1, path="/api/v1/orders", length=True) -> Answer:
    raw = body if isinstance(body, bytes) else json.dumps(body).encode()
    head = [(b"host", b"testserver"), (b"content-type", b"application/json")]
    if length:
        head.append((b"content-length", str(len(raw)).encode()))
    if token is not None:
        head.append((b"authorization", f"Token {token}".encode()))
    head += [(k.encode(), v.encode()) for k, v in headers]
    scope = {"type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": "POST", "scheme": "http",
             "path": path, "raw_path": path.encode(), "query_string": b"", "root_path": "", "headers": head,
             "client": ("127.0.0.1", 5000), "server": ("testserver", 80)}
    size = -(-len(raw) // chunks) or 1
    parts = [raw[i:i + size] for i in range(0, len(raw), size)] or [b""]
    pending = [{"type": "http.request", "body": p, "more_body": i < len(parts) - 1} for i, p in enumerate(parts)]
    messages = []

    async def receive():
        if pending:
            return pending.pop(0)
        await asyncio.Event().wait()  # the client stays while it is answered

    async def send(message):
        messages.append(message)

    await app(scope, receive, send)
    return Answer(messages)


def token_of(user) -> str:
    return Token.objects.get_or_create(user=user)[0].key


def lines(tier, quantity=1):
    return {"lines": [{"tier": tier, "quantity": quantity}]}


@pytest.fixture
def tier(new_tier):
    return new_tier(1)


@pytest.fixture
def sold_out_tier(tier, make_api):
    assert reserve(make_api(UserFactory()), tier, quantity=1).status_code == 201  # commits: the snapshot says 0
    return tier


def test_the_served_application_answers_refusals_before_the_request_slots():
    http = application.application_mapping["http"]  # /healthz, cached pages, this one, slots, again, Django
    assert isinstance(http.app.app, SoldOutFastPath) and isinstance(http.app.app.app, Admission)
    assert isinstance(http.app.app.app.app, SoldOutFastPath) and http.app.app.app.app.app is django_asgi_app


def test_a_sold_out_refusal_is_django_s_answer_without_django(fast, django_app, sold_out_tier):
    token = token_of(UserFactory())
    answer = post(fast, lines(sold_out_tier), token=token)
    assert django_app.calls == 0
    assert answer.status == 409
    assert answer.json() == {"code": "sold_out", "detail": "Sold out: not enough left for this quantity.",
                             "available": 0}
    by_django = post(django_asgi_app, lines(sold_out_tier), token=token)
    assert (by_django.status, by_django.body) == (answer.status, answer.body), by_django.body
    assert by_django.headers == answer.headers
    assert Order.objects.filter(lines__item_id=sold_out_tier).count() == 1  # nothing else was reserved


def test_the_refusal_is_in_the_request_s_language(fast, django_app, sold_out_tier):
    token = token_of(UserFactory())
    answer = post(fast, lines(sold_out_tier), token=token, headers=[("accept-language", "de-DE,de;q=0.9")])
    by_django = post(django_asgi_app, lines(sold_out_tier), token=token,
                     headers=[("accept-language", "de-DE,de;q=0.9")])
    assert django_app.calls == 0
    assert answer.body == by_django.body and answer.headers == by_django.headers
    assert dict(answer.headers)["content-language"] == "de"
    assert answer.json()["detail"] != "Sold out: not enough left for this quantity."


def test_an_indented_answer_asked_for_is_indented_as_drf_does(fast, django_app, sold_out_tier):
    token = token_of(UserFactory())
    accept = [("accept", "application/json; indent=2")]
    answer = post(fast, lines(sold_out_tier), token=token, headers=accept)
    by_django = post(django_asgi_app, lines(sold_out_tier), token=token, headers=accept)
    assert django_app.calls == 0
    assert answer.body == by_django.body
    assert set(answer.headers) ^ set(by_django.headers) == set()


def test_a_sale_reaches_django_with_its_body(fast, django_app, new_tier):
    tier = new_tier(3)
    for n in (1, 2):
        body = lines(tier)
        answer = post(fast, body, token=token_of(UserFactory()), chunks=3)  # a body in three messages
        assert answer.status == 201 and django_app.calls == n
        assert django_app.bodies[-1] == json.dumps(body).encode()  # handed on whole
    # One left: asking for two is refused from the snapshot, asking for one sells.
    answer = post(fast, lines(tier, 2), token=token_of(UserFactory()))
    assert (answer.status, answer.json()["available"], django_app.calls) == (409, 1, 2)
    assert post(fast, lines(tier), token=token_of(UserFactory())).status == 201 and django_app.calls == 3


@pytest.mark.parametrize("case", ["unknown", "revoked", "inactive", "none"])
def test_a_caller_django_would_not_let_in_gets_django_s_401(fast, django_app, sold_out_tier, case):
    user = UserFactory()
    token = token_of(user)
    if case == "unknown":
        token = "0" * 40
    elif case == "revoked":
        Token.objects.filter(user=user).delete()
    elif case == "inactive":
        user.is_active = False
        user.save(update_fields=["is_active"])
    answer = post(fast, lines(sold_out_tier), token=None if case == "none" else token)
    assert answer.status == 401 and django_app.calls == 1


@pytest.mark.parametrize("body, status", [
    ({"lines": [{"tier": "x", "quantity": 0}]}, 400),
    ({"lines": []}, 400),
    ({"lines": [{"tier": "SOLD", "quantity": 1}], "email": "not an address"}, 400),
    (b"{not json", 400),
    ({"lines": [{"tier": "SOLD", "quantity": 1}], "padding": "x" * MAX_BODY}, 409),  # too big to read here
])
def test_a_body_django_answers_otherwise_reaches_django(fast, django_app, sold_out_tier, body, status):
    if isinstance(body, dict):
        body = json.loads(json.dumps(body).replace("SOLD", sold_out_tier))
    answer = post(fast, body, token=token_of(UserFactory()))
    assert answer.status == status and django_app.calls == 1


def test_a_session_cookie_or_an_unacceptable_answer_is_left_to_django(fast, django_app, sold_out_tier):
    token = token_of(UserFactory())
    assert post(fast, lines(sold_out_tier), token=token, headers=[("cookie", "sessionid=abc")]).status == 409
    assert post(fast, lines(sold_out_tier), token=token, headers=[("accept", "text/html")]).status == 406
    # Without a Content-Length DRF reads no body at all: Django says the lines are missing.
    assert post(fast, lines(sold_out_tier), token=token, length=False).status == 400
    assert django_app.calls == 3


def test_other_paths_and_methods_are_not_looked_at(fast, django_app, sold_out_tier):
    post(fast, lines(sold_out_tier), token=token_of(UserFactory()), path="/api/v1/ping")
    assert django_app.calls == 1


def test_the_token_check_is_drf_s_one_query():
    from django.core.handlers.asgi import ASGIRequest
    import io

    token = token_of(UserFactory())
    scope = {"type": "http", "method": "POST", "path": "/api/v1/orders", "query_string": b"",
             "headers": [(b"authorization", f"Token {token}".encode())]}
    with CaptureQueriesContext(connection) as ctx:
        assert _authenticated(ASGIRequest(scope, io.BytesIO()))
    assert len(ctx.captured_queries) == 1



def test_a_sale_is_validated_once_by_django_not_twice(fast, django_app, new_tier, monkeypatch):
    from commerce.api import serializers

    tier = new_tier(3)
    assert post(fast, lines(tier), token=token_of(UserFactory())).status == 201  # the snapshot now says 2 left
    validations = []
    real = serializers.OrderInSerializer.is_valid
    monkeypatch.setattr(serializers.OrderInSerializer, "is_valid",
                        lambda self, **kw: validations.append(1) or real(self, **kw))
    assert post(fast, lines(tier), token=token_of(UserFactory())).status == 201
    assert len(validations) == 1  # the view's; the fast path only read the snapshot
    assert post(fast, lines(tier, 2), token=token_of(UserFactory())).status == 409
    assert len(validations) == 2  # a likely refusal is validated here before it is answered


def test_a_buyer_queued_for_a_slot_while_the_last_ticket_sold_is_refused_there(django_app, new_tier):
    """Outer check, the request slots (one here), the check again, Django: as the served application."""
    tier = new_tier(2)
    assert post(django_asgi_app, lines(tier), token=token_of(UserFactory())).status == 201  # 1 left
    release = asyncio.Event()

    class Held:  # the first request keeps the only slot until released
        def __init__(self):
            self.first = True

        async def __call__(self, scope, receive, send):
            if self.first:
                self.first = False
                await release.wait()
            await django_app(scope, receive, send)

    app = SoldOutFastPath(Admission(SoldOutFastPath(Held()), 1))
    tokens = [token_of(UserFactory()), token_of(UserFactory())]

    async def rush():
        first = asyncio.create_task(apost(app, lines(tier), token=tokens[0]))
        await asyncio.sleep(0.2)  # it holds the slot
        second = asyncio.create_task(apost(app, lines(tier), token=tokens[1]))  # 1 left: queues for the slot
        await asyncio.sleep(0.2)
        release.set()
        return await first, await second

    first, second = async_to_sync(rush)()
    assert first.status == 201 and second.status == 409 and second.json()["code"] == "sold_out"
    assert django_app.calls == 1  # the queued refusal never reached Django
