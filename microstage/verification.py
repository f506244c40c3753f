"""Proof that someone receives mail at an address, for what may only go to its owner.

Team invitations and ticket transfers are accepted from an emailed link, by an account whose
address is verified (allauth). When it is not verified yet, the page sends allauth's confirmation
link and remembers where to come back to after confirming.
"""
from django.utils.http import url_has_allowed_host_and_scheme

from .selectors import has_verified_email

RETURN_KEY = "microstage_after_email_verified"

__all__ = ["has_verified_email", "ask_to_verify", "return_url_after_verification"]


def ask_to_verify(request, email: str) -> None:
    """Send allauth's confirmation link to `email` (an address of the logged-in user) and come back here."""
    from allauth.account.models import EmailAddress

    address, _ = EmailAddress.objects.get_or_create(
        user=request.user, email__iexact=email,
        defaults={"email": email, "primary": request.user.email.lower() == email.lower(), "verified": False})
    if not address.verified:
        address.send_confirmation(request)
    request.session[RETURN_KEY] = request.path


def return_url_after_verification(request) -> str | None:
    """The page that asked for the confirmation (once), when it is one of ours."""
    url = request.session.pop(RETURN_KEY, None) if hasattr(request, "session") else None
    if url and url_has_allowed_host_and_scheme(url, allowed_hosts={request.get_host()}):
        return url
    return None
