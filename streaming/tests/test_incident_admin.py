"""Staff see stream incidents in the admin: the list (searchable, filterable by open ones) and each one."""
import pytest
from django.urls import reverse

from events.tests.factories import EventFactory
from microstage.tests.factories import UserFactory
from streaming.models import LiveStream, StreamIncident

pytestmark = pytest.mark.django_db


def test_incidents_list_search_filter_and_detail(client):
    event = EventFactory(title="Late Night Session #12")
    stream = LiveStream.objects.create(event=event)
    incident = StreamIncident.objects.create(stream=stream, kind=StreamIncident.Kind.LOW_BITRATE,
                                             detail="40 kbit/s, under 500 kbit/s.")
    client.force_login(UserFactory(is_staff=True, is_superuser=True))
    url = reverse("admin:streaming_streamincident_changelist")
    page = client.get(url, {"q": "Late Night", "resolved_at__isempty": "1"})
    assert page.status_code == 200 and "40 kbit/s" in page.content.decode()
    assert client.get(reverse("admin:streaming_streamincident_change", args=[incident.pk])).status_code == 200
    assert client.get(reverse("admin:streaming_streamincident_changelist")).status_code == 200
    client.force_login(UserFactory())
    assert client.get(url).status_code == 302  # not staff: to the admin login
