"""Door check-in: admitting a ticket once (the earliest scan wins), offline bundles and their synced scans."""
from datetime import timedelta

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from microstage import realtime
from microstage.errors import Invalid
from microstage.models import DOOR_ROLES

from ..consent import answers_by_ticket, no_recording, questions_of
from ..models import CheckIn, Event, Ticket, TierPerk, opens_room
from ..permissions import door_only, require_event_role
from ..selectors import checkin_counts
from .tickets import QR_PREFIX, TICKET_ID_RE, read_payload


def _record(event, ticket, result, scanned_at, actor, device, offline) -> CheckIn:
    return CheckIn.objects.create(event=event, ticket=ticket, result=result, scanned_at=scanned_at,
                                  scanned_by=actor if actor and actor.is_authenticated else None,
                                  device=(device or "")[:80], offline=offline)


def check_in(*, event: Event, payload: str, actor, device: str = "", scanned_at=None,
             offline: bool = False) -> tuple[str, Ticket | None, CheckIn]:
    """Admit a ticket once (the door team, or SYSTEM). Returns (result, ticket, record)."""
    require_event_role(actor, event, DOOR_ROLES, forbidden=door_only())
    return _check_in(event=event, payload=payload, actor=actor, device=device, scanned_at=scanned_at,
                     offline=offline)


@transaction.atomic
def _check_in(*, event: Event, payload: str, actor, device: str = "", scanned_at=None,
              offline: bool = False) -> tuple[str, Ticket | None, CheckIn]:
    """Admit a ticket once. Returns (result, ticket, record); the earliest scan in time wins.

    A scan that reaches us late (an offline device syncing) but happened earlier than the scan we
    admitted becomes the admission, and the other one becomes the duplicate.
    """
    now = timezone.now()
    scanned_at = scanned_at or now
    claims = read_payload(payload)
    if claims is None and isinstance(payload, str) and TICKET_ID_RE.match(payload.strip()):
        # The door typed the ticket id printed under the QR code: only the current ticket row counts.
        current = Ticket.objects.filter(pk=payload.strip(), event=event).values_list("version", flat=True).first()
        claims = {"t": payload.strip(), "e": event.pk, "v": current} if current else None
    ticket = None
    if claims and claims["e"] == event.pk:
        ticket = Ticket.objects.select_for_update().select_related("tier").filter(pk=claims["t"], event=event).first()
    if ticket is None or ticket.status != Ticket.Status.VALID or ticket.version != claims["v"]:
        return CheckIn.Result.INVALID, None, _record(event, None, CheckIn.Result.INVALID, scanned_at, actor,
                                                     device, offline)
    if not opens_room(event.mode, ticket.tier.kind):  # a genuine ticket, but for the stream: never the room
        return CheckIn.Result.STREAM_ONLY, ticket, _record(event, ticket, CheckIn.Result.STREAM_ONLY, scanned_at,
                                                           actor, device, offline)
    if ticket.checked_in_at and ticket.checked_in_at <= scanned_at:
        return CheckIn.Result.ALREADY, ticket, _record(event, ticket, CheckIn.Result.ALREADY, scanned_at, actor,
                                                       device, offline)
    if ticket.checked_in_at:  # this scan happened first: it takes the admission over
        ticket.checkins.filter(result=CheckIn.Result.OK).update(result=CheckIn.Result.ALREADY)
    ticket.checked_in_at = scanned_at
    ticket.save(update_fields=["checked_in_at"])
    record = _record(event, ticket, CheckIn.Result.OK, scanned_at, actor, device, offline)
    _award_attendance(event, ticket)
    realtime.publish(realtime.event_group(event.pk), {"type": "checkins", **checkin_counts(event)})
    return CheckIn.Result.OK, ticket, record


def _award_attendance(event: Event, ticket: Ticket) -> None:
    """Loyalty points for the holder of an admitted ticket, once per ticket (the ledger's key says so)."""
    from memberships.services import award_attendance

    if ticket.holder_id:
        award_attendance(user=ticket.holder, creator_id=event.creator_id, ticket_id=ticket.pk,
                         event_title=event.title)


SCAN_CLOCK_SKEW = timedelta(minutes=5)  # a door device's clock may be this far off
SCAN_BEFORE_BUNDLE = timedelta(minutes=15)  # ... and this far behind when it took the bundle


def issue_checkin_bundle(event: Event, *, actor) -> dict:
    """The offline bundle for a door device; the first one issued dates the oldest offline scan."""
    require_event_role(actor, event, DOOR_ROLES, forbidden=door_only())
    if event.checkin_bundle_issued_at is None:
        now = timezone.now()
        Event.objects.filter(pk=event.pk, checkin_bundle_issued_at__isnull=True).update(checkin_bundle_issued_at=now)
        event.checkin_bundle_issued_at = Event.objects.values_list("checkin_bundle_issued_at", flat=True).get(
            pk=event.pk)
    return checkin_bundle(event)


def checkin_bundle(event: Event) -> dict:
    """What a door device needs to verify tickets offline: the public key, valid tickets, revocations."""
    from microstage.signing import public_key_b64url


    rows = Ticket.objects.filter(event=event).values_list("pk", "version", "status", "checked_in_at", "tier__name",
                                                          "tier__kind", "holder_name", "holder_email", "tier_id")
    answered = answers_by_ticket(event)  # the holders' consent answers travel with the bundle (offline door)
    backstage = set(TierPerk.objects.filter(tier__event=event, kind=TierPerk.Kind.BACKSTAGE)
                    .values_list("tier_id", flat=True))
    tickets, revoked = [], []
    for pk, version, status, checked_in_at, tier_name, tier_kind, holder_name, holder_email, tier_id in rows:
        if status != Ticket.Status.VALID:
            revoked.append(pk)
            continue
        answers = answered.get(pk, {})
        # The tier's kind travels with the ticket so an offline door refuses stream-only tickets too.
        tickets.append({"id": pk, "version": version, "tier": tier_name, "tier_kind": tier_kind,
                        "opens_room": opens_room(event.mode, tier_kind), "backstage": tier_id in backstage,
                        "holder": holder_name or holder_email.split("@", 1)[0],
                        "checked_in_at": checked_in_at.isoformat() if checked_in_at else None,
                        "answers": answers, "no_recording": no_recording(answers)})
    return {"event": event.pk, "public_key": public_key_b64url(), "algorithm": "Ed25519", "payload_prefix": QR_PREFIX,
            "generated_at": timezone.now().isoformat(), "tickets": tickets, "revoked": revoked,
            "questions": [{"key": q["key"], "text": q["text"]} for q in questions_of(event)]}


def sync_scans(*, event: Event, scans: list[dict], actor) -> list[dict]:
    """Apply scans queued by an offline device, oldest first (so the earliest scan admits), and
    report each scan's result in the order they were sent.

    A scan is dated between the first offline bundle's issue (the event's creation when none was
    taken) and now, give or take a device's clock: anything outside refuses the batch."""
    require_event_role(actor, event, DOOR_ROLES, forbidden=door_only())
    now = timezone.now()
    earliest = (event.checkin_bundle_issued_at or event.created_at) - SCAN_BEFORE_BUNDLE
    parsed = []
    for i, scan in enumerate(scans):
        scanned_at = scan["scanned_at"]
        if scanned_at > now + SCAN_CLOCK_SKEW:
            raise Invalid(_("A scan is dated in the future."), fields={f"scans[{i}].scanned_at": [_("In the future.")]})
        if scanned_at < earliest:
            raise Invalid(_("A scan is dated before the door had its offline bundle."),
                          fields={f"scans[{i}].scanned_at": [_("Before %(earliest)s: check the device's clock.")
                                                             % {"earliest": earliest.isoformat()}]})
        parsed.append((scanned_at, i, scan))
    results: list[dict | None] = [None] * len(scans)
    for scanned_at, i, scan in sorted(parsed, key=lambda p: (p[0], p[1])):
        result, ticket, _scan = _check_in(event=event, payload=scan["payload"], actor=actor,
                                          device=scan.get("device", ""), scanned_at=scanned_at, offline=True)
        entry = {"payload": scan["payload"], "result": result, "ticket": ticket.pk if ticket else None}
        if result == CheckIn.Result.ALREADY:
            entry["first_scan_at"] = ticket.checked_in_at.isoformat()
        results[i] = entry
    return results
