"""The team hears about trouble, on a phone: the owner has the control room open while the show is live;
the input bitrate drops under the threshold, the alert appears there without a reload (and the owner got
the message), the owner switches viewers to audio only, and when the bitrate recovers that alert clears."""
from datetime import timedelta

import pytest
from django.conf import settings
from django.test import Client
from django.utils import timezone
from playwright.sync_api import expect

from events.tests.factories import EventFactory
from microstage.models import Role
from microstage.notifications.models import Notification
from microstage.tests.factories import team_member
from microstage.tests.test_browser import LAYOUT_PROBLEMS
from streaming.services import transcode
from streaming.models import LiveStream

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_a_low_bitrate_alert_reaches_the_control_room_and_the_owner_switches_to_audio(phone, live_server,
                                                                                        artifacts):
    now = timezone.now()
    event = EventFactory(starts_at=now - timedelta(minutes=20), ends_at=now + timedelta(hours=2))
    stream = LiveStream.objects.create(event=event, status=LiveStream.Status.LIVE)
    owner = team_member(event.creator, Role.OWNER)
    client = Client()
    client.force_login(owner)
    phone.context.add_cookies([{"name": settings.SESSION_COOKIE_NAME, "url": live_server.url,
                                "value": client.cookies[settings.SESSION_COOKIE_NAME].value}])
    phone.goto(f"/dashboard/live/{event.pk}/control/")
    alerts_box = phone.locator("#stream-alerts")
    expect(phone.locator("#alert-list [data-kind='low_bitrate']")).to_have_count(0)

    transcode.record_health(stream.pk, {"bitrate_kbps": 40.0})  # the encoder's uplink gives out
    expect(alerts_box).to_be_visible(timeout=15_000)  # the control room polls its status
    expect(alerts_box).to_contain_text("Input bitrate too low")
    expect(alerts_box).to_contain_text("40 kbit/s")
    told = Notification.objects.filter(user=owner, kind="stream_trouble")
    assert told.exists() and told.first().event_id == event.pk
    assert phone.evaluate(LAYOUT_PROBLEMS) == []
    phone.screenshot(path=str(artifacts / "control-alert-phone.png"), full_page=True)

    phone.get_by_role("button", name="Audio only", exact=True).click()
    expect(phone.locator("button[data-mode='audio_only']")).to_have_attribute("aria-pressed", "true")
    stream.refresh_from_db()
    assert stream.program_mode == "audio_only"

    transcode.record_health(stream.pk, {"bitrate_kbps": 2500.0})  # back to normal
    # (the control room's own preflight may keep its alert: this bare test show has no renditions)
    expect(phone.locator("#alert-list [data-kind='low_bitrate']")).to_have_count(0, timeout=15_000)
    assert phone.js_errors == []
