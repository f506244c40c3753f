"""Cached landing pages answered at the ASGI layer (analytics/page_asgi.py): the same page and headers as a
hit served by Django, a fresh CSP nonce and CSRF token per response, exactly one buffered page view, and
Django answering everything that may not have a copy."""
import asyncio
import re

import pytest
from asgiref.sync import async_to_sync
from django.core.signals import request_finished, request_started
from django.db import close_old_connections

from analytics import pageview_buffer, services
from analytics.middleware import COOKIE
from analytics.models import PageView
from analytics.page_asgi import PageCacheFastPath
from analytics.tasks import flush_page_views
from events.tests.factories import EventFactory, TierFactory
from events.tests.test_drops import live_drop
from microstage.asgi import application, django_asgi_app
from microstage.permissions import SYSTEM

pytestmark = pytest.mark.django_db

NONCE_RE = re.compile(r"'nonce-([^']+)'")
TOKEN_RE = re.compile(r'"X-CSRFToken": "([^"]+)"|name="csrfmiddlewaretoken" value="([^"]+)"')


@pytest.fixture(autouse=True)
def _keep_the_test_transaction():
    """As Django's own test clients do: a request's end must not close the test's connection."""
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    yield
    request_started.connect(close_old_connections)
    request_finished.connect(close_old_connections)


class Counting:
    """Django's ASGI app, counting the requests that reach it."""

    def __init__(self):
        self.calls = 0

    async def __call__(self, scope, receive, send):
        self.calls += 1
        await django_asgi_app(scope, receive, send)


@pytest.fixture
def django_app():
    return Counting()


@pytest.fixture
def fast(django_app):
    return PageCacheFastPath(django_app)


@pytest.fixture
def event():
    event = EventFactory(venue_capacity=100)
    TierFactory(event=event, name="Early bird", quantity=5)
    return event


class Answer:
    def __init__(self, messages):
        start = messages[0]
        self.status = start["status"]
        self.headers = [(k.decode().lower(), v.decode()) for k, v in start["headers"]]
        self.body = b"".join(m.get("body", b"") for m in messages[1:]).decode()

    def header(self, name):
        found = [v for k, v in self.headers if k == name.lower()]
        return found[0] if found else None

    def cookies(self) -> dict:
        return {v.split("=", 1)[0]: v for k, v in self.headers if k == "set-cookie"}

    def nonce(self):
        return NONCE_RE.search(self.header("content-security-policy")).group(1)

    def token(self):
        match = TOKEN_RE.search(self.body)
        return match.group(1) or match.group(2)


def get(app, path, *, method="GET", query=b"", headers=()):
    scope = {"type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": method, "scheme": "http",
             "path": path, "raw_path": path.encode(), "query_string": query, "root_path": "",
             "headers": [(b"host", b"testserver"), *((k.encode(), v.encode()) for k, v in headers)],
             "client": ("127.0.0.1", 5000), "server": ("testserver", 80)}
    messages, received = [], []

    async def receive():
        if not received:
            received.append(1)
            return {"type": "http.request", "body": b"", "more_body": False}
        await asyncio.Event().wait()  # the client stays (Django listens for a disconnect while it answers)

    async def send(message):
        messages.append(message)

    async_to_sync(app)(scope, receive, send)
    return Answer(messages)


def cached(fast, django_app, path, **kw):
    """A copy made by Django (a miss), then the page from `fast`."""
    assert get(django_app, path, **kw).header("x-page-cache") == "miss"
    calls = django_app.calls
    answer = get(fast, path, **kw)
    assert answer.status == 200
    return answer, django_app.calls - calls


def test_the_served_application_answers_landing_pages_first():
    http = application.application_mapping["http"]  # /healthz's layer, this one, refusals, slots, ...
    assert isinstance(http.app, PageCacheFastPath) and http.app.app.app.app.app is django_asgi_app


def test_a_hit_is_answered_before_django_with_the_same_page_and_headers(fast, django_app, event):
    url = event.get_absolute_url()
    answer, reached_django = cached(fast, django_app, url)
    assert reached_django == 0 and answer.header("x-page-cache") == "hit"
    by_django = get(django_app, url)
    assert by_django.header("x-page-cache") == "hit"

    def same(a):
        headers = {(k, v) for k, v in a.headers if k not in ("set-cookie", "content-security-policy")}
        csp = a.header("content-security-policy").replace(a.nonce(), "N")
        body = a.body.replace(a.nonce(), "N").replace(a.token(), "T")
        return headers, csp, sorted(a.cookies()), body

    assert same(answer) == same(by_django)
    assert set(answer.cookies()) == {COOKIE, "csrftoken"} and "Early bird" in answer.body
    assert {"x-frame-options", "x-content-type-options", "referrer-policy", "vary", "content-language",
            "cross-origin-opener-policy"} <= {k for k, _v in answer.headers}


def test_every_answer_has_its_own_nonce_and_csrf_token(fast, django_app, event):
    first, _ = cached(fast, django_app, event.get_absolute_url())
    second = get(fast, event.get_absolute_url())
    assert django_app.calls == 1
    for answer in (first, second):
        assert f'nonce="{answer.nonce()}"' in answer.body  # the scripts carry the header's nonce
        assert "__MS_" not in answer.body
    assert first.nonce() != second.nonce() and first.token() != second.token()


def test_the_visitors_csrf_cookie_is_kept(fast, django_app, event):
    secret = "A" * 32
    answer, _ = cached(fast, django_app, event.get_absolute_url(), headers=[("cookie", f"csrftoken={secret}")])
    assert answer.cookies()["csrftoken"].startswith(f"csrftoken={secret};")


@pytest.mark.parametrize("kw", [
    {"headers": [("cookie", "sessionid=abc")]},
    {"headers": [("cookie", "messages=abc")]},
    {"headers": [("authorization", "Token abc")]},
    {"method": "POST"},
    {"method": "HEAD"},
    {"query": b"tier=x"},
])
def test_what_may_not_have_a_copy_goes_to_django(fast, django_app, event, kw):
    get(django_app, event.get_absolute_url())  # the anonymous copy exists
    calls = django_app.calls
    get(fast, event.get_absolute_url(), **kw)
    assert django_app.calls == calls + 1


def test_a_miss_and_other_pages_go_to_django(fast, django_app, event):
    get(fast, event.get_absolute_url())
    get(fast, "/discover/")
    assert django_app.calls == 2
    assert get(fast, event.get_absolute_url()).header("x-page-cache") == "hit" and django_app.calls == 2


def test_ignored_parameters_share_the_copy(fast, django_app, event):
    get(django_app, event.get_absolute_url())
    assert get(fast, event.get_absolute_url(), query=b"utm_source=x").header("x-page-cache") == "hit"
    assert django_app.calls == 1


def test_exactly_one_view_is_buffered_per_answer_with_the_visitors_cookie(fast, django_app, event):
    vid = "v_" + "a" * 24
    cached(fast, django_app, event.get_absolute_url(), headers=[("cookie", f"{COOKIE}={vid}")])
    assert pageview_buffer.pending() == 2  # Django's miss and the answer from cache
    get(fast, event.get_absolute_url(), headers=[("cookie", f"{COOKIE}={vid}")])
    assert pageview_buffer.pending() == 3
    assert flush_page_views.apply().get() == 3
    assert set(PageView.objects.values_list("visitor_id", "page", "event_id", "creator_id")) == {
        (vid, "event", event.pk, event.creator_id)}


def test_a_first_visit_gets_a_visitor_cookie_and_its_view(fast, django_app, event):
    answer, _ = cached(fast, django_app, event.get_absolute_url())
    vid = answer.cookies()[COOKIE].split(";")[0].split("=", 1)[1]
    flush_page_views.apply().get()
    assert PageView.objects.filter(visitor_id=vid).count() == 1


@pytest.mark.parametrize("header", ["dnt", "sec-gpc"])
def test_do_not_track_means_no_view_and_no_cookie(fast, django_app, event, header):
    answer, reached_django = cached(fast, django_app, event.get_absolute_url(), headers=[(header, "1")])
    assert reached_django == 0 and COOKIE not in answer.cookies()
    assert pageview_buffer.pending() == 0


def test_each_language_has_its_own_copy(fast, django_app, event):
    get(django_app, event.get_absolute_url())  # English
    german = get(fast, event.get_absolute_url(), headers=[("accept-language", "de")])
    assert django_app.calls == 2 and german.header("content-language") == "de"
    again = get(fast, event.get_absolute_url(), headers=[("accept-language", "de")])
    assert django_app.calls == 2 and again.header("content-language") == "de"
    assert again.header("x-page-cache") == "hit"


def test_experiment_variants_have_their_own_copies(fast, django_app, event):
    drop = live_drop(event)
    exp = services.create_experiment(creator=event.creator, name="Poster price", target="drop", target_id=drop.pk,
                                     variants=[{"key": "a", "price": "15.00", "weight": 50},
                                               {"key": "b", "price": "9.50", "weight": 50}], actor=SYSTEM)
    exp.refresh_from_db()
    visitors = {}
    for i in range(200):
        vid = f"v_synthetic{i:013d}"
        visitors.setdefault(services.assign(exp.pk, vid, exp.variants)["key"], vid)
    a, b = (("cookie", f"{COOKIE}={visitors[k]}") for k in ("a", "b"))
    get(django_app, event.get_absolute_url(), headers=[a])
    get(fast, event.get_absolute_url(), headers=[b])  # another price: not variant a's copy
    assert django_app.calls == 2
    for header in (a, b):
        answer = get(fast, event.get_absolute_url(), headers=[header])
        assert answer.header("x-page-cache") == "hit"
    assert django_app.calls == 2
    flush_page_views.apply().get()
    assert set(PageView.objects.values_list("visitor_id", "variant")) == {
        (visitors["a"], f"{exp.pk}:a"), (visitors["b"], f"{exp.pk}:b")}
