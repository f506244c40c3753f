"""The referral link /r/<code>/: remember who invited a visitor, and record it if they sign up.

Only a new account counts (memberships.referrals): opening the link while logged in, or logging in
to an existing account afterwards, records nothing.
"""
import re

from django.http import Http404
from django.shortcuts import redirect
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET

from .models import LoyaltyAccount
from .referrals import record_referral

SESSION_KEY = "memberships_referral_code"
CODE_RE = re.compile(r"[A-Za-z0-9_-]{1,32}")


@never_cache
@require_GET
def referral_link(request, code):
    """Keep the code in the session (for a sign-up) and send the visitor to the creator's page."""
    account = (LoyaltyAccount.objects.select_related("creator").filter(referral_code=code).first()
               if CODE_RE.fullmatch(code) else None)  # odd bytes (a NUL, say) never reach the database
    if account is None:
        raise Http404("No such invitation.")
    if not request.user.is_authenticated:
        request.session[SESSION_KEY] = account.referral_code
    return redirect("creator-page", slug=account.creator.slug)


def remember_referrer(sender, request=None, user=None, **kwargs) -> None:
    """allauth user_signed_up receiver: record the referral the session remembers for the new account."""
    session = getattr(request, "session", None)
    if session is None or user is None:
        return
    code = session.pop(SESSION_KEY, None)
    if isinstance(code, str) and CODE_RE.fullmatch(code):
        record_referral(code=code, referred=user)
