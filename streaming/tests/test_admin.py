"""Staff admin for streams, recordings, clips and chat: list views render; moderation actions work."""
import pytest
from django.urls import reverse

from microstage.tests.factories import UserFactory
from streaming.models import ChatMessage, LiveStream

from .live_helpers import make_room

pytestmark = pytest.mark.django_db


@pytest.fixture
def staff_client(client, settings):
    settings.PAYMENTS_PROVIDER = "sandbox"
    client.force_login(UserFactory(is_staff=True, is_superuser=True))
    return client


@pytest.fixture
def room():
    return make_room()


@pytest.mark.parametrize("model", ["livestream", "recording", "clip", "chatmessage", "chatmute"])
def test_changelists_render_with_search(staff_client, room, model):
    url = reverse(f"admin:streaming_{model}_changelist")
    assert staff_client.get(url).status_code == 200
    assert staff_client.get(url, {"q": "x"}).status_code == 200


def test_hide_messages_action_hides_for_everyone(staff_client, room, django_capture_on_commit_callbacks):
    message = ChatMessage.objects.create(event=room.event, user=room.holder, text="spam spam")
    with django_capture_on_commit_callbacks(execute=True):
        r = staff_client.post(reverse("admin:streaming_chatmessage_changelist"),
                              {"action": "hide_messages", "_selected_action": [message.pk]}, follow=True)
    assert r.status_code == 200
    message.refresh_from_db()
    assert message.deleted_at is not None


def test_rotate_key_action_replaces_the_key(staff_client, room):
    stream = LiveStream.objects.create(event=room.event)
    old = stream.stream_key
    staff_client.post(reverse("admin:streaming_livestream_changelist"),
                      {"action": "rotate_keys", "_selected_action": [stream.pk]}, follow=True)
    stream.refresh_from_db()
    assert stream.stream_key != old
