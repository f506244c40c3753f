"""Anonymous event and discovery pages from cache (events/page_cache.py): few queries per view, never
stale after an edit, a stock change or a publish, nothing personal cached, no N+1 over tiers or drops."""
from datetime import timedelta
from decimal import Decimal

import pytest
from django.test import Client
from django.utils import timezone

from commerce import services as commerce
from catalog.models import Product
from events.models import Drop, Event
from microstage.tests.factories import UserFactory

from .factories import EventFactory, TierFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def event():
    event = EventFactory(venue_capacity=100)
    TierFactory(event=event, name="Early bird", quantity=5)
    TierFactory(event=event, name="Door", quantity=50)
    return event


def add_drops(event, n):
    for i in range(n):
        product = Product.objects.create(creator=event.creator, name=f"Drop item {i}", price=Decimal("15.00"),
                                         currency="EUR")
        Drop.objects.create(event=event, product=product, quantity=10, starts_at=timezone.now() - timedelta(minutes=5),
                            ends_at=timezone.now() + timedelta(hours=1))


def test_an_anonymous_view_costs_at_most_four_queries(event, django_assert_max_num_queries):
    client = Client()
    first = client.get(event.get_absolute_url())
    assert first.status_code == 200 and first["X-Page-Cache"] == "miss"
    for _ in range(3):
        with django_assert_max_num_queries(4):
            again = Client().get(event.get_absolute_url())
        assert again.status_code == 200 and again["X-Page-Cache"] == "hit"
        assert b"Early bird" in again.content
    # Page views of cached pages are still counted: analytics/tests/test_pageview_buffer.py.


def test_no_n_plus_one_over_tiers_and_drops(event, django_assert_max_num_queries):
    add_drops(event, 1)
    small = EventFactory(venue_capacity=100, slug="small-show")
    TierFactory(event=small)
    add_drops(small, 1)
    big = EventFactory(venue_capacity=100, slug="big-show")
    for _ in range(8):
        TierFactory(event=big)
    add_drops(big, 5)
    counts = {}
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    for e in (small, big):
        Client().get(e.get_absolute_url())  # per-process caches filled
        from django.core.cache import cache

        cache.clear()
        with CaptureQueriesContext(connection) as ctx:
            assert Client().get(e.get_absolute_url()).status_code == 200  # rendered, not from cache
        counts[e.slug] = len(ctx.captured_queries)
    assert counts["small-show"] == counts["big-show"], counts


def test_an_edit_is_seen_at_once(event, django_capture_on_commit_callbacks):
    Client().get(event.get_absolute_url())
    tier = event.tiers.get(name="Door")
    with django_capture_on_commit_callbacks(execute=True):
        tier.name = "Walk-in"
        tier.save()
    page = Client().get(event.get_absolute_url())
    assert page["X-Page-Cache"] == "miss" and b"Walk-in" in page.content


def test_a_stock_change_is_seen_at_once(event, settings, django_capture_on_commit_callbacks):
    settings.PAYMENTS_PROVIDER = "sandbox"
    tier = event.tiers.get(name="Early bird")
    before = Client().get(event.get_absolute_url())
    assert before["X-Page-Cache"] == "miss"
    assert Client().get(event.get_absolute_url())["X-Page-Cache"] == "hit"
    with django_capture_on_commit_callbacks(execute=True):
        commerce.reserve(requests=[commerce.LineRequest("ticket", tier.pk, 5)], buyer=UserFactory())
    after = Client().get(event.get_absolute_url())
    assert after["X-Page-Cache"] == "miss" and after.content != before.content


def test_unpublishing_is_seen_at_once(event, django_capture_on_commit_callbacks):
    assert Client().get(event.get_absolute_url()).status_code == 200
    with django_capture_on_commit_callbacks(execute=True):
        event.status = Event.Status.DRAFT
        event.save()
    assert Client().get(event.get_absolute_url()).status_code == 404


def test_each_visitor_gets_their_own_csrf_token_and_it_works(event):
    Client().get(event.get_absolute_url())  # cached
    tokens = set()
    for _ in range(2):
        client = Client(enforce_csrf_checks=True)
        page = client.get(event.get_absolute_url())
        assert page["X-Page-Cache"] == "hit"
        assert b"__MS_CSRF_TOKEN__" not in page.content
        token = page.content.decode().split('name="csrfmiddlewaretoken" value="')[1].split('"')[0]
        tokens.add(token)
        tier = event.tiers.get(name="Door")
        # An anonymous reserve is sent to log in (302), not refused by CSRF (403).
        response = client.post(f"/e/{event.slug}/reserve/", {f"qty_{tier.pk}": "1", "csrfmiddlewaretoken": token})
        assert response.status_code == 302
    assert len(tokens) == 2


def test_logged_in_visitors_and_personal_queries_are_never_cached(event):
    Client().get(event.get_absolute_url())
    client = Client()
    user = UserFactory(display_name="Zelda Personal")
    client.force_login(user)
    page = client.get(event.get_absolute_url())
    assert "X-Page-Cache" not in page
    assert b"Log out" in page.content
    assert b"Log out" not in Client().get(event.get_absolute_url()).content
    tier = event.tiers.get(name="Door")
    chosen = Client().get(f"{event.get_absolute_url()}?qty_{tier.pk}=2")
    assert "X-Page-Cache" not in chosen


def test_a_request_with_credentials_is_never_served_a_copy(event):
    Client().get(event.get_absolute_url())
    assert "X-Page-Cache" not in Client().get(event.get_absolute_url(), HTTP_AUTHORIZATION="Token abc")


def test_discovery_is_cached_and_a_publish_shows_up(event, django_capture_on_commit_callbacks,
                                                   django_assert_max_num_queries):
    assert Client().get("/")["X-Page-Cache"] == "miss"
    with django_assert_max_num_queries(4):
        assert Client().get("/")["X-Page-Cache"] == "hit"
    with django_capture_on_commit_callbacks(execute=True):
        EventFactory(title="Brand new show", slug="brand-new")
    page = Client().get("/")
    assert page["X-Page-Cache"] == "miss" and b"Brand new show" in page.content


def test_the_availability_partial_is_shared_for_a_moment(event, django_assert_max_num_queries, monkeypatch):
    from types import SimpleNamespace

    from events import page_cache

    # The partial is shared within one clock second; pin the clock so a slow machine cannot let the
    # second request fall into the next second (a fresh copy, one more query) and fail by chance.
    monkeypatch.setattr(page_cache, "time", SimpleNamespace(time=lambda: 1_000_000.25))
    url = f"/e/{event.slug}/availability/"
    assert Client().get(url).status_code == 200
    with django_assert_max_num_queries(4):
        response = Client().get(url)
    assert response.status_code == 200 and "no-cache" in response["Cache-Control"] + "max-age=0"


def test_a_cached_page_carries_the_nonce_its_own_csp_header_names(event):
    """Scripts are nonced (strict CSP): a copy from cache must name this response's nonce, or none run."""
    import re

    Client().get(event.get_absolute_url())  # cached
    nonces = set()
    for _ in range(2):
        page = Client().get(event.get_absolute_url())
        assert page["X-Page-Cache"] == "hit"
        html = page.content.decode()
        assert "__MS_CSP_NONCE__" not in html
        in_page = set(re.findall(r' nonce="([^"]+)"', html))
        header = re.search(r"'nonce-([^']+)'", page["Content-Security-Policy"]).group(1)
        assert in_page == {header}
        nonces.add(header)
    assert len(nonces) == 2  # each response its own
