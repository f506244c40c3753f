"""Payment pages and provider webhooks: thin wrappers around services."""
import logging
from urllib.parse import urlsplit

from django.conf import settings
from django.contrib import messages
from django.http import Http404, HttpResponse, HttpResponseBadRequest
from django.shortcuts import redirect, render
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_http_methods, require_POST

from microstage.errors import NotFound

from . import services
from .models import Payment
from .providers.base import BadSignature

log = logging.getLogger(__name__)


@never_cache
@require_http_methods(["GET", "POST"])
def sandbox_checkout(request, session_id):
    """The sandbox's hosted checkout page: Pay or Decline a test payment."""
    try:
        payment = services.sandbox_payment(session_id)
    except NotFound:
        raise Http404("No such test checkout.")
    if request.method == "POST":
        outcome = "decline" if request.POST.get("outcome") == "decline" else "pay"
        payment = services.sandbox_complete(payment, outcome)
        if payment.status in (Payment.Status.CAPTURED, Payment.Status.AUTHORIZED):
            return _back(request, payment.success_url, payment)
        messages.error(request, _("The test card was declined. No money moved."))
        return _back(request, payment.cancel_url, payment)
    return render(request, "payments/sandbox_checkout.html", {"payment": payment,
                                                              "is_open": payment.status == Payment.Status.PENDING})


def _back(request, url, payment):
    # Return URLs come from our services, but never redirect off-site from a page anyone can post to.
    allowed = {request.get_host(), urlsplit(settings.SITE_URL).netloc}
    if url and url_has_allowed_host_and_scheme(url, allowed_hosts=allowed):
        return redirect(url)
    return redirect("payments:sandbox-checkout", session_id=payment.checkout_session or payment.pk)


@csrf_exempt  # signed by the provider instead
@require_POST
def stripe_webhook(request):
    try:
        services.handle_webhook("stripe", request.body, request.headers)
    except BadSignature as exc:
        return HttpResponseBadRequest(exc.detail)
    return HttpResponse(status=200)
