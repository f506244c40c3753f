"""Consent-forward capture: the creator's short yes/no form, each ticket holder's answers before the
show, and what the team sees of them (counts, the door, the attendee CSV).

Answers belong to the ticket's current holder: a transfer deletes them and asks the new holder.
Nobody outside the creator's team sees anyone's answers; a holder sees only their own.
Answers can be changed until doors open (the event's start).
"""
import re

from django.conf import settings
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from microstage.errors import Conflict, Invalid, NotFound
from microstage.models import EDIT_ROLES

from .models import ConsentAnswers, ConsentForm, Event, Ticket
from .permissions import require_event_role

KEY_RE = re.compile(r"^[a-z][a-z0-9_]{0,39}$")
MAX_QUESTIONS = 10
MAX_TEXT = 280
KINDS = ("yes_no",)
# The recording release: a "no" to a question with one of these keys is shown as `no_recording`.
RECORDING_KEYS = ("recording", "recording_release", "record", "video", "filming")

SUGGESTED = [
    {"key": "recording", "text": "May we record you in the audience for the stream and the replay?",
     "kind": "yes_no", "required": True},
    {"key": "photos", "text": "May we take photos of you and share them after the show?", "kind": "yes_no",
     "required": False},
    {"key": "share_email", "text": "May we share your email address with the creator for news of future shows?",
     "kind": "yes_no", "required": False},
]


def is_recording_key(key: str) -> bool:
    return key in RECORDING_KEYS or key.startswith("recording")


def no_recording(answers: dict) -> bool:
    return any(value is False and is_recording_key(key) for key, value in (answers or {}).items())


# --- the creator's form ------------------------------------------------------------------------

def clean_questions(raw) -> list[dict]:
    """Questions as stored, or Invalid naming every problem (fields like `questions[0].key`)."""
    if not isinstance(raw, list):
        raise Invalid(_("Send the questions as a list."), fields={"questions": [_("A list of questions.")]})
    if len(raw) > MAX_QUESTIONS:
        raise Invalid(
            _("At most %(max_questions)s questions.") % {"max_questions": MAX_QUESTIONS},
            fields={"questions": [_("At most %(max_questions)s.") % {"max_questions": MAX_QUESTIONS}]},
        )
    errors: dict[str, list[str]] = {}
    questions, seen = [], set()
    for i, item in enumerate(raw):
        where = f"questions[{i}]"
        if not isinstance(item, dict):
            errors[where] = [_("Each question is an object with key, text, kind and required.")]
            continue
        unknown = set(item) - {"key", "text", "kind", "required"}
        if unknown:
            errors[where] = [_("Unknown fields: %(fields)s.") % {"fields": ", ".join(sorted(unknown))}]
        key, text = item.get("key"), item.get("text")
        kind, required = item.get("kind", "yes_no"), item.get("required", False)
        if not isinstance(key, str) or not KEY_RE.match(key):
            errors[f"{where}.key"] = [_("Lower-case letters, digits and _ (start with a letter), at most 40.")]
        elif key in seen:
            errors[f"{where}.key"] = [_("Used by another question.")]
        else:
            seen.add(key)
        if not isinstance(text, str) or not text.strip():
            errors[f"{where}.text"] = [_("Write the question.")]
        elif len(text.strip()) > MAX_TEXT:
            errors[f"{where}.text"] = [_("At most %(max)s characters.") % {"max": MAX_TEXT}]
        if kind not in KINDS:
            errors[f"{where}.kind"] = [_('Only "yes_no" questions are supported.')]
        if not isinstance(required, bool):
            errors[f"{where}.required"] = [_("true or false.")]
        if not any(k.startswith(where) for k in errors):
            questions.append({"key": key, "text": " ".join(text.split()), "kind": kind, "required": required})
    if errors:
        raise Invalid(_("Some questions need fixing."), fields=errors)
    return questions


def questions_of(event: Event) -> list[dict]:
    form = ConsentForm.objects.filter(event=event).first()
    return list(form.questions) if form else []


@transaction.atomic
def set_consent_form(event: Event, questions, *, actor) -> ConsentForm:
    """Replace the event's form (its owners and managers, or SYSTEM). Holders who already answered keep
    answers to the keys still asked; a form set for the first time after tickets were sold emails every
    holder their onboarding link."""
    require_event_role(actor, event, EDIT_ROLES)
    cleaned = clean_questions(questions)
    event = Event.objects.select_for_update().get(pk=event.pk)
    if event.status == Event.Status.CANCELLED:
        raise Conflict(_("This event is cancelled."), code="cancelled")
    form, _created = ConsentForm.objects.get_or_create(event=event)
    had_questions = bool(form.questions)
    form.questions = cleaned
    form.save()
    if cleaned and not had_questions and event.starts_at > timezone.now():
        tickets = list(Ticket.objects.filter(event=event, status=Ticket.Status.VALID))
        if tickets:
            send_onboarding_later(tickets)
    return form


# --- onboarding links ----------------------------------------------------------------------------

def onboarding_url(ticket: Ticket) -> str:
    return f"{settings.SITE_URL}/tickets/{ticket.pk}/onboarding/"


def send_onboarding_later(tickets: list[Ticket]) -> None:
    """Email each holder the link(s) to answer, once the surrounding transaction commits (only when
    the event has a form and doors are not open yet)."""
    if not tickets:
        return
    event_id = tickets[0].event_id
    by_email: dict[str, list[str]] = {}
    for t in tickets:
        by_email.setdefault(t.holder_email.lower(), []).append(t.pk)
    transaction.on_commit(lambda: _send_onboarding(event_id, by_email))


def _send_onboarding(event_id: str, by_email: dict[str, list[str]]) -> None:
    from microstage.notifications.services import notify

    event = Event.objects.select_related("creator").get(pk=event_id)
    if not questions_of(event) or event.starts_at <= timezone.now() or event.status != Event.Status.PUBLISHED:
        return
    for email, ids in by_email.items():
        tickets = list(Ticket.objects.filter(pk__in=ids, status=Ticket.Status.VALID, holder_email__iexact=email)
                       .order_by("created_at", "id"))
        if not tickets:
            continue
        key = "onboarding:" + tickets[0].pk + f":{tickets[0].version}"
        notify(email, "onboarding", event, {"links": [onboarding_url(t) for t in tickets]}, key=key)


def reset_on_transfer(ticket: Ticket) -> None:
    """A passed-on ticket is answered again: the old holder's answers go at once."""
    ConsentAnswers.objects.filter(ticket=ticket).delete()


def ask_new_holder(ticket: Ticket) -> None:
    """The recipient has claimed the ticket: send them the link to answer (when the event has a form)."""
    if questions_of(ticket.event):
        send_onboarding_later([ticket])


# --- the holder's answers ------------------------------------------------------------------------

def doors_open(event: Event, now=None) -> bool:
    return (now or timezone.now()) >= event.starts_at


def holder_ticket(user, ticket_id: str) -> Ticket:
    """The ticket if `user` holds it (404 for everyone else, the creator's team included)."""
    from .selectors import tickets_of

    ticket = tickets_of(user).filter(pk=ticket_id).first()
    if ticket is None:
        raise NotFound(_("No such ticket."))
    return ticket


def current_answers(questions: list[dict], record: ConsentAnswers | None) -> dict:
    keys = {q["key"] for q in questions}
    return {k: v for k, v in (record.answers if record else {}).items() if k in keys}


def is_completed(questions: list[dict], record: ConsentAnswers | None) -> bool:
    if not questions:
        return True
    if record is None:
        return False
    answers = current_answers(questions, record)
    return all(q["key"] in answers for q in questions if q.get("required"))


def onboarding(ticket: Ticket) -> dict:
    questions = questions_of(ticket.event)
    record = ConsentAnswers.objects.filter(ticket=ticket).first()
    return {"ticket": ticket.pk, "event": ticket.event_id, "questions": questions,
            "answers": current_answers(questions, record), "completed": is_completed(questions, record),
            "editable": not doors_open(ticket.event) and ticket.status == Ticket.Status.VALID,
            "closes_at": ticket.event.starts_at}


@transaction.atomic
def answer(user, ticket_id: str, answers) -> dict:
    """Save the holder's answers (all of them at once). Invalid when a key is unknown, a value is not
    true/false or a required question is unanswered; Conflict once doors are open."""
    ticket = holder_ticket(user, ticket_id)
    ticket = Ticket.objects.select_for_update(of=("self",)).select_related("event").get(pk=ticket.pk)
    if not isinstance(answers, dict):
        raise Invalid(_("Send the answers as an object of question key → true or false."),
                      fields={"answers": [_("An object like {\"recording\": true}.")]})
    if ticket.status != Ticket.Status.VALID:
        raise Conflict(_("This ticket is void."), code="void")
    if ticket.event.status == Event.Status.CANCELLED:
        raise Conflict(_("This event is cancelled."), code="cancelled")
    if doors_open(ticket.event):
        raise Conflict(_("Doors are open: answers can no longer be changed here. Ask the team at the door."),
                       code="closed")
    questions = questions_of(ticket.event)
    by_key = {q["key"]: q for q in questions}
    errors: dict[str, list[str]] = {}
    for key, value in answers.items():
        if key not in by_key:
            errors[f"answers.{key}"] = [_("No such question.")]
        elif not isinstance(value, bool):
            errors[f"answers.{key}"] = [_("Answer true (yes) or false (no).")]
    for q in questions:
        if q.get("required") and q["key"] not in answers:
            errors[f"answers.{q['key']}"] = [_("This question needs an answer.")]
    if errors:
        raise Invalid(_("Some answers are missing or not yes/no."), fields=errors)
    ConsentAnswers.objects.update_or_create(
        ticket=ticket, defaults={"answers": dict(answers), "holder_email": ticket.holder_email,
                                 "submitted_at": timezone.now()})
    return {"completed": True, "ticket": ticket.pk, "answers": dict(answers)}


# --- what the team sees --------------------------------------------------------------------------

def answers_by_ticket(event: Event, ticket_ids=None) -> dict[str, dict]:
    """{ticket id: answers to the current questions} for the event's answered tickets."""
    questions = questions_of(event)
    qs = ConsentAnswers.objects.filter(ticket__event=event)
    if ticket_ids is not None:
        qs = qs.filter(ticket_id__in=list(ticket_ids))
    keys = {q["key"] for q in questions}
    return {ticket_id: {k: v for k, v in answers.items() if k in keys}
            for ticket_id, answers in qs.values_list("ticket_id", "answers")}


def door_view(event: Event, ticket: Ticket) -> dict:
    """What the door shows next to a check-in result."""
    answers = answers_by_ticket(event, [ticket.pk]).get(ticket.pk, {})
    return {"answers": answers, "no_recording": no_recording(answers)}


def summary(event: Event) -> dict:
    """{questions, counts: {key: {yes, no, unanswered}}, attendees: [{ticket, holder_email, answers}]} over
    the event's valid tickets."""
    questions = questions_of(event)
    answered = answers_by_ticket(event)
    counts = {q["key"]: {"yes": 0, "no": 0, "unanswered": 0} for q in questions}
    attendees = []
    for pk, email in (Ticket.objects.filter(event=event, status=Ticket.Status.VALID)
                      .order_by("holder_email", "created_at", "id").values_list("pk", "holder_email")):
        answers = answered.get(pk, {})
        for key, c in counts.items():
            value = answers.get(key)
            c["unanswered" if value is None else ("yes" if value else "no")] += 1
        attendees.append({"ticket": pk, "holder_email": email, "answers": answers,
                          "no_recording": no_recording(answers)})
    return {"questions": questions, "counts": counts, "attendees": attendees}


def count_rows(event: Event, summary_: dict | None = None) -> list[dict]:
    """[{key, text, yes, no, unanswered}] in the form's order: what the dashboard and control room show."""
    data = summary_ or summary(event)
    return [{"key": q["key"], "text": q["text"], **data["counts"][q["key"]]} for q in data["questions"]]
