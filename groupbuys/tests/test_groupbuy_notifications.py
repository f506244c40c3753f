"""A succeeded group-buy tells each participant through the notifications service (email and/or SMS,
recorded, once)."""
import pytest
from django.core import mail

from groupbuys import services as groupbuys
from microstage.notifications.models import Notification

from groupbuys.tests.groupbuy_helpers import group_buy, join, past_deadline

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _sandbox(settings):
    settings.PAYMENTS_PROVIDER = "sandbox"


def test_success_goes_through_notifications_once(django_capture_on_commit_callbacks):
    gb = group_buy()
    for q in (2, 3):
        join(gb, q)
    past_deadline(gb)
    mail.outbox.clear()
    with django_capture_on_commit_callbacks(execute=True):
        groupbuys.settle(gb.pk)
    records = Notification.objects.filter(kind="group_buy_succeeded")
    assert records.count() == 2 and {r.status for r in records} == {"sent"}
    assert sum("Group-buy done" in m.subject for m in mail.outbox) == 2
    with django_capture_on_commit_callbacks(execute=True):
        groupbuys.settle(gb.pk)  # idempotent: nobody hears it twice
    assert Notification.objects.filter(kind="group_buy_succeeded").count() == 2
    assert sum("Group-buy done" in m.subject for m in mail.outbox) == 2
