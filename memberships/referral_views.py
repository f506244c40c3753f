"""The referral link /r/<code>/: remember who invited a visitor, and record it once they have an account."""
import re

from django.http import Http404
from django.shortcuts import redirect
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET

from .models import LoyaltyAccount
from .services import record_referral

SESSION_KEY = "memberships_referral_code"
CODE_RE = re.compile(r"[A-Za-z0-9_-]{1,32}")


@never_cache
@require_GET
def referral_link(request, code):
    """Keep the code in the session and send the visitor to the creator's page; a logged-in visitor is
    recorded at once, anyone else when they log in or sign up (see remember_referrer)."""
    account = (LoyaltyAccount.objects.select_related("creator").filter(referral_code=code).first()
               if CODE_RE.fullmatch(code) else None)  # odd bytes (a NUL, say) never reach the database
    if account is None:
        raise Http404("No such invitation.")
    if request.user.is_authenticated:
        record_referral(code=account.referral_code, referred=request.user)
    else:
        request.session[SESSION_KEY] = account.referral_code
    return redirect("creator-page", slug=account.creator.slug)


def remember_referrer(sender, request=None, user=None, **kwargs) -> None:
    """allauth user_logged_in / user_signed_up receiver: record the referral the session remembers."""
    session = getattr(request, "session", None)
    if session is None or user is None:
        return
    code = session.pop(SESSION_KEY, None)
    if isinstance(code, str) and CODE_RE.fullmatch(code):
        record_referral(code=code, referred=user)
