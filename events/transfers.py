"""Passing a ticket on: the sender's QR code dies at once, the recipient claims it from an emailed link.

A transfer never lands in anyone's tickets by itself. It waits (`Ticket.awaiting_claim`) until the
person who receives the email opens its link, logged in to an account whose address is that one
and verified — so an account squatting an unverified address gets nothing, and the answer to the
sender is the same whether or not the address has an account.
"""
from django.conf import settings
from django.core.mail import send_mail
from django.core.signing import BadSignature, Signer
from django.db import transaction
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from microstage.i18n import language_for_address
from microstage.errors import Conflict, Forbidden, Invalid, NotFound
from microstage.models import User
from microstage.selectors import has_verified_email

from microstage import realtime

from . import consent
from .models import Ticket

CLAIM_SALT = "events.ticket-claim"


def claim_token(ticket: Ticket) -> str:
    """The link token for the ticket as it stands: a later transfer (new version) voids it."""
    return Signer(salt=CLAIM_SALT).sign_object({"t": ticket.pk, "v": ticket.version}, compress=False)


def claim_url(ticket: Ticket) -> str:
    return settings.SITE_URL.rstrip("/") + reverse("ticket-claim", args=[claim_token(ticket)])


@transaction.atomic
def transfer_ticket(*, ticket_id: str, actor: User, email: str) -> Ticket:
    """Send a ticket to `email`: the old QR code stops working now; the recipient claims it by link."""
    from .selectors import tickets_of

    ticket = (tickets_of(actor).select_for_update(of=("self",)).select_related("event", "tier")
              .filter(pk=ticket_id).first())
    if ticket is None:
        raise NotFound(_("No such ticket."))
    email = User.objects.normalize_email(email or "").strip().lower()
    if ticket.status != Ticket.Status.VALID:
        raise Conflict(_("This ticket is void."), code="void")
    if ticket.checked_in_at:
        raise Conflict(_("This ticket has already been used at the door."), code="already_checked_in")
    if ticket.event.ends_at <= timezone.now():
        raise Conflict(_("The event is over."), code="event_over")
    if email == actor.email.lower():
        raise Invalid(_("That is already you."), fields={"email": [_("Enter someone else's email address.")]})
    previous_holder = ticket.holder_id
    ticket.holder = None  # nobody holds it until the recipient claims it
    ticket.holder_email = email
    ticket.holder_name = ""
    ticket.awaiting_claim = True
    ticket.version += 1
    ticket.save(update_fields=["holder", "holder_email", "holder_name", "awaiting_claim", "version"])
    consent.reset_on_transfer(ticket)  # the new holder is asked again
    realtime.access_changed(previous_holder, ticket.event_id)  # the sender's chat access ends at once
    context = {"ticket": ticket, "event": ticket.event, "sender": actor, "url": claim_url(ticket)}
    transaction.on_commit(lambda: _send_transfer_email(email, context))
    return ticket


def _send_transfer_email(email: str, context: dict) -> None:
    """The claim link, in the recipient's language (their account's, else the event's)."""
    with translation.override(language_for_address(email, context["event"])):
        subject = render_to_string("events/email/ticket_transfer_subject.txt", context).strip()
        body = render_to_string("events/email/ticket_transfer.txt", context)
    send_mail(settings.ACCOUNT_EMAIL_SUBJECT_PREFIX + subject, body, None, [email])


def ticket_for_claim(token: str) -> Ticket:
    """The ticket a claim link names, while the link is current; NotFound otherwise."""
    try:
        claims = Signer(salt=CLAIM_SALT).unsign_object(token)
    except (BadSignature, ValueError, TypeError):
        raise NotFound(_("This link is not valid."), code="claim_invalid") from None
    if not isinstance(claims, dict) or not isinstance(claims.get("t"), str) or not isinstance(claims.get("v"), int):
        raise NotFound(_("This link is not valid."), code="claim_invalid")
    ticket = Ticket.objects.select_related("event", "tier").filter(pk=claims["t"]).first()
    if ticket is None or ticket.version != claims["v"] or ticket.status != Ticket.Status.VALID \
            or not ticket.awaiting_claim:
        raise NotFound(_("This ticket link is no longer valid (it was claimed, passed on or cancelled)."),
                       code="claim_invalid")
    return ticket


@transaction.atomic
def claim_ticket(*, token: str, user: User) -> Ticket:
    """The recipient takes the ticket: logged in as the address it was sent to, with that address verified."""
    found = ticket_for_claim(token)
    ticket = Ticket.objects.select_for_update().select_related("event", "tier").get(pk=found.pk)
    if ticket.version != found.version or not ticket.awaiting_claim:
        raise NotFound(_("This ticket link is no longer valid."), code="claim_invalid")
    if not has_verified_email(user, ticket.holder_email):
        if ticket.holder_email.lower() != user.email.lower():
            raise Forbidden(
                _("This ticket was sent to %(holder_email)s. Log in with that address to claim it.")
                % {"holder_email": ticket.holder_email}
            )
        raise Forbidden(
            _("Confirm your email address %(holder_email)s first, then claim the ticket.")
            % {"holder_email": ticket.holder_email},
            code="email_unverified",
        )
    ticket.holder = user
    ticket.awaiting_claim = False
    ticket.save(update_fields=["holder", "awaiting_claim"])
    consent.ask_new_holder(ticket)
    realtime.access_changed(user.pk, ticket.event_id)  # the new holder may chat at once
    return ticket
