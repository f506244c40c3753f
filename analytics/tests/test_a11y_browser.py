"""Accessibility of the main paths in a real browser.

- axe-core (conftest.assert_accessible) finds no serious or critical WCAG 2.x A/AA violation on any
  page, anonymous and signed in, on a phone and on a desktop. The data is the demo (events, orders, a
  drop, a group-buy, memberships) plus a finished show with a replay and a pop-up till, so every page
  draws its full content.
- Live counters are announced through one polite live region, throttled to the latest values; chat
  is a polite log (watch page and control room).
"""
import io
from datetime import timedelta

import pytest
from django.core.management import call_command
from django.test import Client
from django.utils import timezone

from conftest import DESKTOP, PHONE, assert_accessible

expect = pytest.importorskip("playwright.sync_api", reason="browser tests need the playwright package").expect

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def off_the_loop(fn, *args, **kwargs):
    """Run `fn` in another thread: Playwright's sync API keeps an event loop running in this one, where
    the realtime publish (async_to_sync) of a purchase cannot run."""
    from concurrent.futures import ThreadPoolExecutor

    from django.db import connection

    def call():
        try:
            return fn(*args, **kwargs)
        finally:
            connection.close()

    with ThreadPoolExecutor(1) as pool:
        return pool.submit(call).result()


@pytest.fixture
def world(settings):
    settings.PAYMENTS_PROVIDER = "sandbox"
    off_the_loop(call_command, "demo", stdout=io.StringIO())
    from commerce.models import Order
    from groupbuys.models import GroupBuy
    from stock.services import create_location
    from events.models import Event
    from microstage import demo
    from microstage.models import Creator, User
    from streaming.models import LiveStream, Recording

    creator = Creator.objects.get(slug=demo.CREATOR_SLUG)
    owner = User.objects.get(email=demo.CREATOR_EMAIL)
    fan = User.objects.get(email=demo.FAN_EMAIL)
    event = Event.objects.get(slug="late-night-session")
    # A finished show the fan had a ticket for, with its replay ready.
    past = Event.objects.get(slug="soundcheck-session")
    Event.objects.filter(pk=past.pk).update(starts_at=timezone.now() - timedelta(hours=4),
                                            ends_at=timezone.now() - timedelta(hours=2))
    stream = LiveStream.objects.get_or_create(event=event)[0]
    ended = LiveStream.objects.create(event=past, status=LiveStream.Status.ENDED)
    Recording.objects.create(stream=ended, source=Recording.Source.LIVE, status=Recording.Status.READY,
                             hls_prefix="streams/a11y/", file="recordings/a11y.mp4", duration_seconds=600)
    location = create_location(creator=creator, name="Merch table", event_id=event.pk, actor=owner)
    return {
        "owner": owner, "fan": fan, "event": event, "past": past, "stream": stream, "location": location,
        "group_buy": GroupBuy.objects.filter(event_id=event.pk).first(),
        "order": Order.objects.filter(buyer=fan).order_by("created_at").first(),
        "creator": creator,
    }


def anonymous_pages(w):
    e = w["event"]
    return ["/", f"/e/{e.slug}/", f"/c/{w['creator'].slug}/", f"/c/{w['creator'].slug}/membership/",
            f"/g/{w['group_buy'].pk}/", "/cart/", f"/e/{e.slug}/watch/", "/accounts/login/", "/accounts/signup/"]


def fan_pages(w):
    e = w["event"]
    return ["/", f"/e/{e.slug}/", "/cart/", "/tickets/", "/orders/", f"/orders/{w['order'].pk}/",
            f"/e/{e.slug}/watch/", f"/e/{w['past'].slug}/watch/", f"/g/{w['group_buy'].pk}/",
            f"/c/{w['creator'].slug}/membership/", "/account/memberships/", "/accounts/email/",
            "/account/notifications/"]


def creator_pages(w):
    e = w["event"]
    return ["/dashboard/", "/dashboard/events/", f"/dashboard/events/{e.pk}/", f"/dashboard/events/{e.pk}/edit/",
            f"/dashboard/live/{e.pk}/control/", f"/door/{e.pk}/", f"/dashboard/products/pos/{w['location'].pk}/",
            "/dashboard/analytics/", f"/dashboard/analytics/{e.pk}/", f"/dashboard/live/{w['past'].pk}/replay/",
            "/dashboard/live/clips/", "/dashboard/group-buys/", f"/dashboard/group-buys/{w['group_buy'].pk}/",
            "/dashboard/memberships/"]


def sweep(browser, live_server, viewport, user, paths, **options):
    context = browser.new_context(viewport=viewport, base_url=live_server.url, **options)
    context.set_default_timeout(15_000)
    if user is not None:
        client = Client()
        client.force_login(user)
        context.add_cookies([{"name": "sessionid", "value": client.cookies["sessionid"].value,
                              "url": live_server.url}])
    page = context.new_page()
    problems = []
    try:
        for path in paths:
            response = page.goto(path)
            assert response.status == 200, f"{path}: {response.status}"
            try:
                assert_accessible(page, path)
            except AssertionError as exc:
                problems.append(str(exc))
    finally:
        context.close()
    assert not problems, "\n\n".join(problems)


SIZES = {"phone": (PHONE, {"has_touch": True, "is_mobile": True}), "desktop": (DESKTOP, {})}


@pytest.mark.parametrize("size", SIZES)
def test_anonymous_pages(browser, live_server, world, size):
    viewport, options = SIZES[size]
    sweep(browser, live_server, viewport, None, anonymous_pages(world), **options)


@pytest.mark.parametrize("size", SIZES)
def test_attendee_pages(browser, live_server, world, size):
    viewport, options = SIZES[size]
    sweep(browser, live_server, viewport, world["fan"], fan_pages(world), **options)


@pytest.mark.parametrize("size", SIZES)
def test_creator_pages(browser, live_server, world, size):
    viewport, options = SIZES[size]
    sweep(browser, live_server, viewport, world["owner"], creator_pages(world), **options)


# --- live regions ----------------------------------------------------------------------------

def signed_in_page(browser, live_server, user, viewport=PHONE):
    context = browser.new_context(viewport=viewport, base_url=live_server.url)
    context.set_default_timeout(15_000)
    if user is not None:
        client = Client()
        client.force_login(user)
        context.add_cookies([{"name": "sessionid", "value": client.cookies["sessionid"].value,
                              "url": live_server.url}])
    return context, context.new_page()


def _buy_standard(event, user):
    from commerce import services as commerce
    from events.models import TICKET_KIND

    tier = event.tiers.get(name="Standard")
    order = commerce.reserve(requests=[commerce.LineRequest(TICKET_KIND, tier.pk, 1)], buyer=user)
    commerce.sandbox_pay(order.pk)
    return tier


def test_stock_counters_are_announced_politely_and_throttled(browser, live_server, world):
    """The page's clock is Playwright's fake one: the throttle is checked by moving time, not by waiting."""
    from events.models import Drop
    from events.selectors import tiers_with_availability

    event = world["event"]
    context, page = signed_in_page(browser, live_server, None)
    try:
        page.clock.install()
        page.goto(f"/e/{event.slug}/")
        region = page.locator("#live-announcer")
        assert region.get_attribute("role") == "status"
        assert region.get_attribute("aria-live") == "polite" and region.get_attribute("aria-atomic") == "true"
        assert region.inner_text() == ""
        standard = next(t for t in tiers_with_availability(event) if t.name == "Standard")
        counter = page.locator(f"#avail-{standard.pk}")
        # The counters themselves are not live regions (a rush would flood the screen reader).
        assert counter.get_attribute("data-announce") == "Standard" and counter.get_attribute("aria-live") is None
        drop = Drop.objects.get(event=event)
        drop_counter = page.locator(f"#avail-{drop.pk}")
        assert drop_counter.get_attribute("data-announce") and drop_counter.get_attribute("aria-live") is None

        # A sale elsewhere: the availability poller (every 5 s) redraws the counter, and the region says it.
        off_the_loop(_buy_standard, event, world["owner"])
        left = standard.available - 1
        page.clock.run_for(5_000)
        expect(counter).to_have_text(f"{left} left")
        page.clock.run_for(10)
        expect(region).to_have_text(f"Standard: {left} left")
        assert region.get_attribute("data-announcements") == "1"

        # More changes within five seconds of that announcement wait, and only the latest values are said,
        # in one announcement. (The poller is stopped first: it would put the server's count back.)
        page.evaluate("() => document.getElementById('availability-poller').remove()")
        drop_name = drop_counter.get_attribute("data-announce")
        for n in (9, 8, 7):
            page.evaluate("([id, n]) => { document.getElementById(id).textContent = `${n} left`; }",
                          [f"avail-{standard.pk}", left - 10 + n])
        page.evaluate("(id) => { document.getElementById(id).textContent = '3 left'; }", f"avail-{drop.pk}")
        page.clock.run_for(2_000)
        expect(region).to_have_text(f"Standard: {left} left")
        assert region.get_attribute("data-announcements") == "1"
        page.clock.run_for(3_100)
        expect(region).to_have_text(f"Standard: {left - 3} left. {drop_name}: 3 left")
        assert region.get_attribute("data-announcements") == "2"
        # Nothing changed since: nothing more is said.
        page.clock.run_for(6_000)
        assert region.get_attribute("data-announcements") == "2"
    finally:
        context.close()


def test_chat_is_a_polite_log_on_the_watch_page_and_in_the_control_room(browser, live_server, world):
    event = world["event"]
    fan_context, fan = signed_in_page(browser, live_server, world["fan"])
    owner_context, owner = signed_in_page(browser, live_server, world["owner"], DESKTOP)
    try:
        for page, path in ((fan, f"/e/{event.slug}/watch/"), (owner, f"/dashboard/live/{event.pk}/control/")):
            page.goto(path)
            log = page.get_by_role("log")
            expect(log).to_have_count(1)
            assert log.get_attribute("aria-live") == "polite" and log.get_attribute("aria-relevant") == "additions"
            assert log.locator("#chat-list").count() == 1  # new messages are added inside the log
            assert page.locator("#chat-list").get_attribute("tabindex") == "0"  # scrollable by keyboard
            counters = page.locator(".stock-count[data-announce]")
            assert counters.count() >= 1 and page.locator(".stock-count[aria-live]").count() == 0
            assert page.locator("#live-announcer[aria-live=polite]").count() == 1
    finally:
        fan_context.close()
        owner_context.close()


# --- captions --------------------------------------------------------------------------------

def test_the_replay_player_has_a_captions_track(browser, live_server, world, settings, tmp_path):
    from django.core.files.uploadedfile import SimpleUploadedFile

    from streaming.captions import set_recording_captions
    from streaming.models import Recording

    settings.MEDIA_ROOT = str(tmp_path / "media")
    recording = Recording.objects.get(stream__event=world["past"])
    vtt = b"WEBVTT\n\n00:00:00.500 --> 00:00:03.000\nGood evening!\n"
    set_recording_captions(recording=recording, actor=world["owner"], language="en", label="English",
                           upload=SimpleUploadedFile("c.vtt", vtt, content_type="text/vtt"))
    context, page = signed_in_page(browser, live_server, world["owner"])
    try:
        for path in (f"/e/{world['past'].slug}/watch/", f"/dashboard/live/{world['past'].pk}/replay/"):
            page.goto(path)
            video = page.locator("video.player")
            tracks = video.evaluate("(v) => [...v.textTracks].map((t) => [t.kind, t.language, t.label])")
            assert tracks == [["captions", "en", "English"]], path
            # The file loads through the playback token under the page's Content-Security-Policy.
            page.wait_for_function("""() => { const t = document.querySelector('video.player').textTracks[0];
                t.mode = 'hidden'; return t.cues && t.cues.length === 1 && t.cues[0].text === 'Good evening!'; }""")
    finally:
        context.close()
