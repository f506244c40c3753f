"""The analytics pages in Chromium: Chart.js draws every chart that has data, without script errors."""
import pytest
from django.conf import settings
from django.test import Client

from microstage.tests.factories import team_member

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def _login(page, live_server, user):
    client = Client()
    client.force_login(user)
    session = client.cookies[settings.SESSION_COOKIE_NAME].value
    page.context.add_cookies([{"name": settings.SESSION_COOKIE_NAME, "value": session, "url": live_server.url}])


def test_event_charts_draw_on_a_phone(phone, live_server, show, artifacts):
    creator, event = show
    _login(phone, live_server, team_member(creator))
    phone.goto(f"/dashboard/analytics/{event.pk}/")
    phone.wait_for_function("() => window.Chart && Object.keys(Chart.instances).length >= 4")
    drawn = phone.evaluate("() => Object.values(Chart.instances).map(c => c.canvas.dataset.chart).sort()")
    assert drawn == ["chat", "funnel", "latency", "revenue"]
    assert phone.locator("#funnel-table").is_visible()
    phone.screenshot(path=str(artifacts / "analytics-event-phone.png"), full_page=True)
    assert phone.js_errors == []


def test_creator_charts_draw(desktop, live_server, show, artifacts):
    creator, _event = show
    _login(desktop, live_server, team_member(creator))
    desktop.goto("/dashboard/analytics/")
    desktop.wait_for_load_state("load")
    # Nobody checked in and no fulfilment costs yet: no empty charts, the tables say "—".
    assert desktop.evaluate("() => Object.keys(Chart.instances).length") == 0
    assert desktop.locator("#repeat-table").is_visible() and desktop.locator("#fulfilment-table").is_visible()
    assert desktop.get_by_role("link", name="Analytics").first.get_attribute("aria-current") == "page"
    desktop.screenshot(path=str(artifacts / "analytics-creator-desktop.png"), full_page=True)
    assert desktop.js_errors == []
