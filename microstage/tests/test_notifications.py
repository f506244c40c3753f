"""Notifications (API.md "Notifications"): preferences, phone confirmation by code, the provider
interface, deduplication, rate limits, SMS fallback and the record of every message."""
import re

import pytest
from django.core import mail
from django.core.exceptions import ImproperlyConfigured

from microstage.notifications import services, sms
from microstage.notifications.models import Notification, NotificationPreference
from microstage.tests.factories import UserFactory

pytestmark = pytest.mark.django_db

PHONE = "+4915112345678"


@pytest.fixture(autouse=True)
def _console_sms(settings):
    settings.SMS_URL = "console://"
    sms.outbox.clear()


@pytest.fixture
def oncommit(django_capture_on_commit_callbacks):
    return lambda: django_capture_on_commit_callbacks(execute=True)


def last_code() -> str:
    return re.search(r"\b(\d{6})\b", sms.outbox[-1]["body"]).group(1)


def confirmed(user, oncommit) -> NotificationPreference:
    with oncommit():
        services.update_preferences(user, phone=PHONE, sms_on=True)
    return services.confirm_phone(user, last_code())


class TestPreferencesApi:
    def test_anonymous_is_401(self, api):
        assert api.put("/api/v1/me/notifications", {"email": True}, format="json").status_code == 401
        assert api.post("/api/v1/me/notifications/confirm-phone", {"code": "123456"}, format="json").status_code == 401

    def test_defaults(self, auth_api):
        r = auth_api.get("/api/v1/me/notifications")
        assert r.status_code == 200
        assert r.json() == {"email": True, "sms": False, "phone": "", "phone_confirmed": False, "sms_active": False}

    @pytest.mark.parametrize("body, field", [
        ({"phone": "01511234567"}, "phone"),          # no country code
        ({"phone": "+49 nonsense"}, "phone"),
        ({"phone": "+1555"}, "phone"),                # not a real number
        ({"sms": True}, "sms"),                       # no phone to text
        ({"email": "yes"}, "email"),
        ({"sms": 1, "phone": PHONE}, "sms"),
    ])
    def test_bad_input_is_400_and_changes_nothing(self, auth_api, body, field):
        r = auth_api.put("/api/v1/me/notifications", body, format="json")
        assert r.status_code == 400, r.content
        assert r.json()["code"] == "invalid" and field in r.json()["fields"]
        pref = NotificationPreference.objects.filter(user=auth_api.user).first()
        assert pref is None or (pref.phone == "" and pref.sms is False and pref.email is True)
        assert not sms.outbox

    def test_phone_is_confirmed_by_a_code_before_sms_is_used(self, auth_api, oncommit):
        with oncommit():
            r = auth_api.put("/api/v1/me/notifications", {"sms": True, "phone": "+49 151 12345678"}, format="json")
        assert r.status_code == 200, r.content
        assert r.json()["phone"] == PHONE and r.json()["phone_confirmed"] is False and r.json()["code_sent"] is True
        assert sms.outbox[-1]["to"] == PHONE
        code = last_code()
        # The record keeps the code masked.
        record = Notification.objects.get(kind="phone_code")
        assert code not in record.body and record.status == Notification.Status.SENT

        # Not confirmed yet: a message goes by email only.
        with oncommit():
            services.notify(auth_api.user, "stream_live", "evt_x", {"url": "http://x/"})
        assert [n.channel for n in Notification.objects.filter(kind="stream_live")] == ["email"]

        wrong = "000000" if code != "000000" else "111111"
        r = auth_api.post("/api/v1/me/notifications/confirm-phone", {"code": wrong}, format="json")
        assert r.status_code == 400 and r.json()["code"] == "wrong_code"
        r = auth_api.post("/api/v1/me/notifications/confirm-phone", {"code": code}, format="json")
        assert r.status_code == 200 and r.json()["phone_confirmed"] is True and r.json()["sms_active"] is True

        sms.outbox.clear()
        with oncommit():
            services.notify(auth_api.user, "doors_open", "evt_x", {"url": "http://x/t"})
        channels = sorted(Notification.objects.filter(kind="doors_open").values_list("channel", flat=True))
        assert channels == ["email", "sms"]
        assert sms.outbox[-1]["to"] == PHONE and "doors are open" in sms.outbox[-1]["body"]

    def test_wrong_codes_run_out(self, auth_api, oncommit):
        with oncommit():
            auth_api.put("/api/v1/me/notifications", {"phone": PHONE}, format="json")
        code = last_code()
        wrong = "000000" if code != "000000" else "111111"
        for _ in range(services.CODE_MAX_ATTEMPTS):
            assert auth_api.post("/api/v1/me/notifications/confirm-phone", {"code": wrong},
                                 format="json").status_code == 400
        r = auth_api.post("/api/v1/me/notifications/confirm-phone", {"code": code}, format="json")
        assert r.status_code == 429 and r.json()["code"] == "too_many_attempts"
        assert not NotificationPreference.objects.get(user=auth_api.user).phone_confirmed

    def test_bad_code_shapes(self, auth_api):
        r = auth_api.post("/api/v1/me/notifications/confirm-phone", {"code": "12ab"}, format="json")
        assert r.status_code == 400 and "code" in r.json()["fields"]
        r = auth_api.post("/api/v1/me/notifications/confirm-phone", {"code": "123456"}, format="json")
        assert r.status_code == 409 and r.json()["code"] == "nothing_to_confirm"

    def test_a_new_code_waits_a_minute(self, auth_api, oncommit):
        with oncommit():
            auth_api.put("/api/v1/me/notifications", {"phone": PHONE}, format="json")
        r = auth_api.post("/api/v1/me/notifications/resend-code")
        assert r.status_code == 429 and r.json()["code"] == "rate_limited"

    def test_email_off_only_with_a_working_sms(self, user, oncommit):
        services.update_preferences(user, email=False)
        with oncommit():
            services.notify(user, "stream_live", "evt_a", {"url": "u"})
        assert list(Notification.objects.values_list("channel", flat=True)) == ["email"]
        confirmed(user, oncommit)
        sms.outbox.clear()
        with oncommit():
            services.notify(user, "stream_live", "evt_b", {"url": "u"})
        assert list(Notification.objects.filter(event_id="evt_b").values_list("channel", flat=True)) == ["sms"]
        assert len(sms.outbox) == 1


class TestSending:
    def test_deduplicated_per_person_and_event(self, user, oncommit):
        with oncommit():
            first = services.notify(user, "stream_live", "evt_1", {"url": "http://x/w"})
            again = services.notify(user.email.upper(), "stream_live", "evt_1", {"url": "http://x/w"})
        assert len(first) == 1 and again == []
        assert len(mail.outbox) == 1 and "live" in mail.outbox[0].subject
        record = Notification.objects.get()
        assert record.status == Notification.Status.SENT and record.sent_at and record.user == user

    def test_rate_limited_per_person_and_event(self, user, oncommit, settings):
        settings.NOTIFY_RATE_LIMIT = "2/3600"
        with oncommit():
            services.notify(user, "doors_open", "evt_1", {"url": "u"})
            services.notify(user, "stream_live", "evt_1", {"url": "u"})
            services.notify(user, "drop_open", "evt_1", {"url": "u", "name": "Tee"}, key="drp_1")
            services.notify(user, "drop_open", "evt_2", {"url": "u", "name": "Tee"}, key="drp_2")  # another event
        statuses = dict(Notification.objects.values_list("key", "status"))
        assert statuses["drp_1"] == Notification.Status.RATE_LIMITED
        assert statuses["drp_2"] == statuses["evt_1"] == Notification.Status.SENT
        assert len(mail.outbox) == 3

    def test_email_failure_falls_back_to_sms(self, user, oncommit, monkeypatch):
        confirmed(user, oncommit)
        services.update_preferences(user, sms_on=False)  # SMS only as the fallback
        sms.outbox.clear()

        def broken(*args, **kwargs):
            raise OSError("SMTP down")

        monkeypatch.setattr(services, "send_mail", broken)
        with oncommit():
            services.notify(user, "stream_live", "evt_1", {"url": "http://x/w"})
        email = Notification.objects.get(kind="stream_live", channel="email")
        assert email.status == Notification.Status.FAILED and "SMTP down" in email.error
        fallback = Notification.objects.get(kind="stream_live", channel="sms")
        assert fallback.fallback and fallback.status == Notification.Status.SENT
        assert sms.outbox[-1] == {"to": PHONE, "body": fallback.body}

    def test_a_failing_provider_is_recorded(self, user, oncommit, settings, monkeypatch):
        confirmed(user, oncommit)

        def refuse(self, to, body):
            raise sms.SmsError("unreachable")

        monkeypatch.setattr(sms.ConsoleBackend, "send", refuse)
        with oncommit():
            services.notify(user, "stream_live", "evt_1", {"url": "u"})
        record = Notification.objects.get(kind="stream_live", channel="sms")
        assert record.status == Notification.Status.FAILED and record.error == "unreachable"

    def test_unknown_kind_is_a_programming_error(self, user):
        with pytest.raises(ValueError):
            services.notify(user, "nonsense", None, {})


class TestProviders:
    def test_console(self):
        assert isinstance(sms.backend_from_url("console://"), sms.ConsoleBackend)

    def test_twilio_from_url(self):
        backend = sms.backend_from_url("twilio://AC0123:secret@+15551234567")
        assert isinstance(backend, sms.TwilioBackend) and backend.sender == "+15551234567"
        assert backend.client.username == "AC0123"

    @pytest.mark.parametrize("url", ["twilio://only-host", "carrier-pigeon://x"])
    def test_misconfigured(self, url):
        with pytest.raises(ImproperlyConfigured):
            sms.backend_from_url(url)


class TestPages:
    def test_admin_lists_messages_with_status(self, client, oncommit):
        admin = UserFactory(is_staff=True, is_superuser=True)
        with oncommit():
            services.notify(admin, "stream_live", "evt_1", {"url": "u"})
        client.force_login(admin)
        r = client.get("/admin/microstage/notification/?status=sent")
        assert r.status_code == 200 and b"stream_live" in r.content
        assert client.get("/admin/microstage/notificationpreference/").status_code == 200

    def test_account_page_saves_and_refuses_bad_input(self, client, user, oncommit):
        client.force_login(user)
        assert client.get("/account/notifications/").status_code == 200
        r = client.post("/account/notifications/", {"action": "save", "email": "on", "sms": "on", "phone": "12"})
        assert r.status_code == 400 and b"international format" in r.content
        assert NotificationPreference.objects.get(user=user).phone == ""
        with oncommit():
            r = client.post("/account/notifications/", {"action": "save", "email": "on", "sms": "on", "phone": PHONE})
        assert r.status_code == 302
        r = client.post("/account/notifications/", {"action": "confirm", "code": "12"})
        assert r.status_code == 400
        r = client.post("/account/notifications/", {"action": "confirm", "code": last_code()})
        assert r.status_code == 302
        assert NotificationPreference.objects.get(user=user).sms_usable


def test_the_same_number_again_keeps_its_code(auth_api, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        auth_api.put("/api/v1/me/notifications", {"phone": PHONE}, format="json")
    code = last_code()
    with django_capture_on_commit_callbacks(execute=True):
        r = auth_api.put("/api/v1/me/notifications", {"phone": PHONE, "sms": True}, format="json")
    assert r.status_code == 200 and r.json()["code_sent"] is False and r.json()["sms"] is True
    assert len(sms.outbox) == 1
    r = auth_api.post("/api/v1/me/notifications/confirm-phone", {"code": code}, format="json")
    assert r.status_code == 200 and r.json()["sms_active"] is True
