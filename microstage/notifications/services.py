"""Sending the messages that matter: by email and/or SMS per preference, deduplicated, rate limited,
recorded with their delivery status; and the preferences themselves (phone confirmed by a code).

`notify(user_or_email, kind, event, context, key=...)` is the one entry point for every app: it
records the message and sends it once the surrounding transaction commits.

- Channels: email when the person keeps email on, SMS when they turned SMS on and confirmed their
  phone. Email can only be switched off in favour of a confirmed SMS number: a message that matters
  always goes somewhere. When an email cannot be sent and the phone is confirmed, the SMS goes as a
  fallback.
- Deduplication: one message per (person, kind, key, channel) ever — `key` defaults to the event, so
  "the stream is live" reaches each person once per event however often the stream restarts.
- Rate limit: at most `NOTIFY_RATE_LIMIT` messages per person and event in its window; the rest are
  recorded as `rate_limited` and not sent.
"""
import hashlib
import hmac
import logging
import secrets
from dataclasses import dataclass
from datetime import timedelta

import phonenumbers
from django.conf import settings
from django.core.mail import send_mail
from django.db import IntegrityError, transaction
from django.template.loader import render_to_string
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from microstage.errors import Conflict, Invalid, ServiceError
from microstage.i18n import language_for
from microstage.models import User

from . import sms
from .models import Notification, NotificationPreference

log = logging.getLogger(__name__)

SMS_MAX_CHARS = 320
CODE_TTL = timedelta(minutes=10)
CODE_RESEND_AFTER = timedelta(seconds=60)
CODE_MAX_ATTEMPTS = 5
CODES_PER_HOUR = 5


@dataclass(frozen=True)
class Kind:
    label: str
    sms: bool = True  # may go by SMS (a long email with links only goes by email)


KINDS: dict[str, Kind] = {
    "waitlist_offer": Kind("Your waiting-list offer"),
    "doors_open": Kind("Doors open"),
    "stream_live": Kind("The stream is live"),
    "drop_open": Kind("A drop is open"),
    "tier_on_sale": Kind("Tickets on sale"),
    "group_buy_succeeded": Kind("Your group-buy succeeded"),
    "onboarding": Kind("Questions before the show", sms=False),
    "stream_trouble": Kind("Trouble with your stream"),
}


# --- preferences ---------------------------------------------------------------------------------

def preferences_of(user) -> NotificationPreference:
    pref, _created = NotificationPreference.objects.get_or_create(user=user)
    return pref


def normalize_phone(value: str) -> str:
    """An E.164 number from what was typed (it must start with + and the country code)."""
    text = (value or "").strip()
    message = _("Enter the number in international format, starting with + and the country code (+4915112345678).")
    if not text.startswith("+") or len(text) > 32:
        raise Invalid(_("That is not a phone number."), fields={"phone": [message]})
    try:
        number = phonenumbers.parse(text, None)
    except phonenumbers.NumberParseException as exc:
        raise Invalid(_("That is not a phone number."), fields={"phone": [message]}) from exc
    if not phonenumbers.is_valid_number(number):
        raise Invalid(
            _("That is not a phone number."),
            fields={"phone": [_("This number does not exist. %(reason)s") % {"reason": message}]},
        )
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def _code_hash(user_id: str, phone: str, code: str) -> str:
    return hmac.new(settings.SECRET_KEY.encode(), f"{user_id}:{phone}:{code}".encode(), hashlib.sha256).hexdigest()


def update_preferences(user, *, email: bool | None = None, sms_on: bool | None = None,
                       phone: str | None = None) -> tuple[NotificationPreference, bool]:
    """Change what was given. A new phone number is unconfirmed until its code comes back; returns
    (preferences, whether a code was sent). Raises Invalid and changes nothing on bad input."""
    new_phone = None
    if phone is not None:
        new_phone = normalize_phone(phone) if phone.strip() else ""
    with transaction.atomic():
        preferences_of(user)
        pref = NotificationPreference.objects.select_for_update().get(user=user)
        phone_after = pref.phone if new_phone is None else new_phone
        if sms_on and not phone_after:
            raise Invalid(_("Add a phone number to get SMS."), fields={"sms": [_("Add a phone number first.")]})
        code_needed = bool(new_phone) and (new_phone != pref.phone or not pref.phone_confirmed)
        if code_needed and new_phone == pref.phone and _code_is_fresh(pref):
            code_needed = False  # the same number again while its code is still fresh: keep that code
        if code_needed:
            _check_code_rate(pref, same_phone=new_phone == pref.phone)
        if new_phone is not None and new_phone != pref.phone:
            pref.phone, pref.phone_confirmed_at = new_phone, None
            pref.code_hash, pref.code_sent_at, pref.code_attempts = "", None, 0
        if email is not None:
            pref.email = email
        if sms_on is not None:
            pref.sms = sms_on
        if not pref.phone:
            pref.sms = False
        code = None
        if code_needed:
            code = f"{secrets.randbelow(10**6):06d}"
            pref.code_hash = _code_hash(user.pk, pref.phone, code)
            pref.code_sent_at, pref.code_attempts = timezone.now(), 0
        pref.save()
        if code:
            phone_now, user_id = pref.phone, user.pk
            transaction.on_commit(lambda: _send_code(user_id, phone_now, code))
    return pref, bool(code)


def _code_is_fresh(pref: NotificationPreference) -> bool:
    return bool(pref.code_hash and pref.code_sent_at and timezone.now() - pref.code_sent_at < CODE_RESEND_AFTER)


def _check_code_rate(pref: NotificationPreference, *, same_phone: bool) -> None:
    now = timezone.now()
    if same_phone and pref.code_sent_at and now - pref.code_sent_at < CODE_RESEND_AFTER:
        wait = int((CODE_RESEND_AFTER - (now - pref.code_sent_at)).total_seconds()) + 1
        raise ServiceError(
            _("A code was just sent. Ask again in %(wait)s seconds.") % {"wait": wait}, code="rate_limited", status=429
        )
    sent = Notification.objects.filter(user_id=pref.user_id, kind="phone_code",
                                       created_at__gte=now - timedelta(hours=1)).count()
    if sent >= CODES_PER_HOUR:
        raise ServiceError(_("Too many codes were sent this hour. Try again later."), code="rate_limited", status=429)


def resend_code(user) -> NotificationPreference:
    pref = preferences_of(user)
    if not pref.phone:
        raise Invalid(_("Add a phone number first."), fields={"phone": [_("Required.")]})
    if pref.phone_confirmed:
        raise Conflict(_("This number is already confirmed."), code="already_confirmed")
    if _code_is_fresh(pref):
        wait = int((CODE_RESEND_AFTER - (timezone.now() - pref.code_sent_at)).total_seconds()) + 1
        raise ServiceError(
            _("A code was just sent. Ask again in %(wait)s seconds.") % {"wait": wait}, code="rate_limited", status=429
        )
    pref, _sent = update_preferences(user, phone=pref.phone)
    return pref


def _send_code(user_id: str, phone: str, code: str) -> None:
    """The code goes straight to the provider (never by email); the record keeps it masked."""
    record = Notification.objects.create(
        user_id=user_id, recipient=User.objects.filter(pk=user_id).values_list("email", flat=True).first() or "",
        address=phone, kind="phone_code", key=f"phone_code:{timezone.now().timestamp()}",
        channel=Notification.Channel.SMS, body="Your Microstage confirmation code is ••••••")
    _send_sms(record, _("Your Microstage confirmation code is %(code)s. It expires in 10 minutes.") % {"code": code})


def confirm_phone(user, code) -> NotificationPreference:
    """The code sent to the phone, typed back: the number is then used for SMS."""
    code = (code if isinstance(code, str) else "").strip().replace(" ", "")
    if not (code.isdigit() and len(code) == 6):
        raise Invalid(_("Enter the 6-digit code."), fields={"code": [_("Enter the 6 digits we sent by SMS.")]})
    with transaction.atomic():
        pref = NotificationPreference.objects.select_for_update().filter(user=user).first()
        if pref is None or not pref.phone or pref.phone_confirmed:
            raise Conflict(_("There is no number waiting for confirmation."), code="nothing_to_confirm")
        if not pref.code_hash or not pref.code_sent_at or timezone.now() - pref.code_sent_at > CODE_TTL:
            raise Invalid(_("This code has expired. Ask for a new one."), code="expired",
                          fields={"code": [_("Expired: ask for a new code.")]})
        if pref.code_attempts >= CODE_MAX_ATTEMPTS:
            raise ServiceError(_("Too many wrong codes. Ask for a new one."), code="too_many_attempts", status=429)
        right = hmac.compare_digest(pref.code_hash, _code_hash(user.pk, pref.phone, code))
        if right:
            pref.phone_confirmed_at, pref.code_hash, pref.code_attempts = timezone.now(), "", 0
        else:
            pref.code_attempts += 1
        pref.save(update_fields=["phone_confirmed_at", "code_hash", "code_attempts", "updated_at"])
    if not right:  # the failed attempt is counted (committed above) before we say so
        raise Invalid(_("That code is not right."), code="wrong_code", fields={"code": [_("That code is not right.")]})
    return pref


# --- sending ---------------------------------------------------------------------------------------

def _resolve(user_or_email) -> tuple[User | None, str]:
    if isinstance(user_or_email, User):
        return user_or_email, user_or_email.email.lower()
    email = (user_or_email or "").strip().lower()
    if not email or "@" not in email:
        raise ValueError(f"notify() needs a user or an email address, not {user_or_email!r}")
    return User.objects.filter(email__iexact=email).first(), email


def _rate_limit() -> tuple[int, int]:
    count, _slash, seconds = settings.NOTIFY_RATE_LIMIT.partition("/")
    return int(count), int(seconds or 3600)


def _over_limit(recipient: str, event_id: str) -> bool:
    if not event_id:
        return False
    limit, seconds = _rate_limit()
    sent = (Notification.objects.filter(recipient=recipient, event_id=event_id,
                                        created_at__gte=timezone.now() - timedelta(seconds=seconds))
            .exclude(status=Notification.Status.RATE_LIMITED).exclude(kind="phone_code")
            .values("kind", "key").distinct().count())
    return sent >= limit


def notify(user_or_email, kind: str, event=None, context: dict | None = None, *, key: str = "") -> list[Notification]:
    """Tell one person something that matters. `event` is an Event (or its id) or None; `context` feeds
    the templates `notifications/<kind>.txt`, `<kind>_subject.txt` and `<kind>_sms.txt` (it gets
    `event` and `site_url` too); `key` names the message for deduplication (default: the event).

    Returns the records created now (empty when this message was already sent). Sending happens
    after the surrounding transaction commits; a failure is recorded, never raised to the caller.
    """
    if kind not in KINDS:
        raise ValueError(f"unknown notification kind {kind!r}")
    user, recipient = _resolve(user_or_email)
    event_id = (getattr(event, "pk", event) or "") if event is not None else ""
    key = (key or event_id or kind)[:120]
    pref = NotificationPreference.objects.filter(user=user).first() if user else None
    sms_ok = KINDS[kind].sms and pref is not None and pref.sms_usable
    channels = []
    if pref is None or pref.email or not sms_ok:
        channels.append(Notification.Channel.EMAIL)
    if sms_ok:
        channels.append(Notification.Channel.SMS)
    ctx = {"event": event if not isinstance(event, str) else None, "site_url": settings.SITE_URL, "kind": kind,
           **(context or {})}
    # In the person's language (their account's, else the event's): rendered now, stored, sent later.
    language = language_for(user, ctx["event"])
    with translation.override(language):
        subject = " ".join(render_to_string(f"notifications/{kind}_subject.txt", ctx).split())
    limited = _over_limit(recipient, event_id)
    created = []
    for channel in channels:
        fallback = ""
        with translation.override(language):
            if channel == Notification.Channel.EMAIL:
                address, body = recipient, render_to_string(f"notifications/{kind}.txt", ctx)
                if KINDS[kind].sms and pref is not None and pref.phone_confirmed and not sms_ok:
                    fallback = _sms_text(kind, ctx)
            else:
                address, body = pref.phone, _sms_text(kind, ctx)
        try:
            with transaction.atomic():
                record, new = Notification.objects.get_or_create(
                    recipient=recipient, kind=kind, key=key, channel=channel,
                    defaults={"user": user, "address": address, "event_id": event_id, "subject": subject[:255],
                              "body": body, "fallback_text": fallback,
                              "status": Notification.Status.RATE_LIMITED if limited else Notification.Status.QUEUED})
        except IntegrityError:  # the same message asked for at the same moment: the other one sends it
            continue
        if new:
            created.append(record)
            if not limited:
                transaction.on_commit(lambda pk=record.pk: deliver(pk))
    return created


def _sms_text(kind: str, ctx: dict) -> str:
    text = " ".join(render_to_string(f"notifications/{kind}_sms.txt", ctx).split())
    return text[:SMS_MAX_CHARS]


def deliver(notification_id: str) -> Notification:
    """Send one recorded message once (a queued record only); an email that fails falls back to SMS
    when the person's phone is confirmed."""
    with transaction.atomic():
        record = Notification.objects.select_for_update().get(pk=notification_id)
        if record.status != Notification.Status.QUEUED:
            return record
        if record.channel == Notification.Channel.EMAIL:
            try:
                send_mail(settings.ACCOUNT_EMAIL_SUBJECT_PREFIX + record.subject, record.body, None, [record.address])
            except Exception as exc:  # noqa: BLE001 - SMTP, DNS, anything: recorded for staff, then the fallback
                log.warning("email %s to %s failed: %s", record.pk, record.address, exc)
                record.status, record.error = Notification.Status.FAILED, str(exc)[:500]
            else:
                record.status, record.sent_at = Notification.Status.SENT, timezone.now()
            record.save(update_fields=["status", "error", "sent_at"])
        else:
            _send_sms(record, record.body)
    if record.status == Notification.Status.FAILED and record.channel == Notification.Channel.EMAIL:
        _fallback_sms(record)
    return record


def _send_sms(record: Notification, text: str) -> None:
    try:
        record.provider_id = sms.get_backend().send(record.address, text)[:80]
    except Exception as exc:  # noqa: BLE001 - SmsError or a misconfigured provider: recorded, not raised
        log.warning("sms %s to %s failed: %s", record.pk, record.address, exc)
        record.status, record.error = Notification.Status.FAILED, str(exc)[:500]
    else:
        record.status, record.sent_at = Notification.Status.SENT, timezone.now()
    record.save(update_fields=["status", "error", "sent_at", "provider_id"])


def _fallback_sms(email_record: Notification) -> None:
    pref = NotificationPreference.objects.filter(user_id=email_record.user_id).first()
    if not (pref and pref.phone_confirmed and email_record.fallback_text):
        return
    try:
        with transaction.atomic():
            record, new = Notification.objects.get_or_create(
                recipient=email_record.recipient, kind=email_record.kind, key=email_record.key,
                channel=Notification.Channel.SMS,
                defaults={"user_id": email_record.user_id, "address": pref.phone, "event_id": email_record.event_id,
                          "subject": email_record.subject, "body": email_record.fallback_text, "fallback": True})
    except IntegrityError:
        return
    if new:
        deliver(record.pk)
