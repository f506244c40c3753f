"""The demo shows what issue-14 features look like with data: a fan who takes SMS, a cash sale at the
pop-up till, a "notify me" on a tier whose sales have not started, and an open stream-health alert in the
control room with the message the owner got. Loaded twice, nothing doubles."""
import io

import pytest
from django.core.management import call_command

from commerce.models import Order
from stock.models import StockLocation
from events.demo import DEMO_EVENT_SLUG, LATE_TIER_NAME, TILL_NAME, WALKUP_EMAIL
from events.models import Event, NotifyRequest, Ticket
from microstage import demo
from microstage.notifications.models import Notification, NotificationPreference
from streaming.models import StreamIncident

pytestmark = pytest.mark.django_db


def test_demo_has_sms_till_sale_notify_me_and_a_stream_alert(settings, client):
    settings.PAYMENTS_PROVIDER = "sandbox"
    call_command("demo", stdout=io.StringIO())
    call_command("demo", stdout=io.StringIO())  # twice: nothing doubles
    event = Event.objects.get(slug=DEMO_EVENT_SLUG)

    pref = NotificationPreference.objects.get(user__email=demo.FAN_EMAIL)
    assert pref.sms_usable and pref.phone == demo.FAN_PHONE

    assert StockLocation.objects.filter(creator=event.creator, name=TILL_NAME, kind="popup").count() == 1
    (sale,) = Order.objects.filter(email=WALKUP_EMAIL)
    assert sale.status == Order.Status.PAID
    (ticket,) = Ticket.objects.filter(order_line__order=sale)
    assert ticket.event_id == event.pk and ticket.checked_in_at is None  # sold at the till, scanned at the door

    late = event.tiers.get(name=LATE_TIER_NAME)
    assert not late.on_sale()
    (request,) = NotifyRequest.objects.filter(tier=late)
    assert request.user.email == demo.FAN_EMAIL and request.notified_at is None

    (incident,) = StreamIncident.objects.filter(stream__event=event)
    assert incident.kind == StreamIncident.Kind.LOW_BITRATE and incident.resolved_at is None
    told = Notification.objects.filter(kind="stream_trouble", recipient=demo.CREATOR_EMAIL, channel="email")
    assert told.count() == 1
    client.force_login(event.creator.team.get(role="owner").user)
    page = client.get(f"/dashboard/live/{event.pk}/control/").content.decode()
    assert "Input bitrate too low" in page
