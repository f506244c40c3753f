"""A creator's shop (products with "n left" and buy buttons) and signed downloads of digital items."""
import mimetypes

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.contrib.auth.views import redirect_to_login
from django.http import Http404, HttpResponseForbidden
from django.shortcuts import redirect, render
from django.template.loader import render_to_string
from django.urls import reverse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_POST
from django.utils.translation import ngettext
from django.utils.translation import gettext as _

from commerce import services as commerce
from microstage.errors import Forbidden, NotFound, ServiceError
from microstage.filesend import send_stored
from microstage.models import Creator

from . import selectors, services


def _creator_or_404(slug: str) -> Creator:
    creator = Creator.objects.filter(slug=slug).first()
    if creator is None:
        raise Http404("No such creator.")
    return creator


@require_GET
@never_cache
def shop(request, slug):
    creator = _creator_or_404(slug)
    return render(request, "commerce/shop.html", {
        "creator": creator, "products": selectors.products_with_stock(selectors.shop_products(creator))})


@require_POST
def shop_buy(request, slug):
    creator = _creator_or_404(slug)
    back = reverse("creator-shop", args=[creator.slug])
    if not request.user.is_authenticated:
        messages.info(request, _("Log in or sign up to buy."))
        return redirect_to_login(back)
    variant_id = (request.POST.get("variant") or "").strip()[:40]
    raw = (request.POST.get("quantity") or "1").strip()
    quantity = int(raw) if raw.isdigit() else 0
    if not variant_id or not 1 <= quantity <= services.PRODUCT_MAX_PER_ORDER:
        messages.error(request, _("Choose an item and a quantity from 1 to %(max)d.")
                       % {"max": services.PRODUCT_MAX_PER_ORDER})
        return redirect(back)
    try:
        if not selectors.shop_products(creator).filter(variants__pk=variant_id).exists():
            raise NotFound(_("No such product."))
        order = commerce.reserve(requests=[commerce.LineRequest(services.PRODUCT_KIND, variant_id, quantity)],
                                 buyer=request.user, email=request.user.email)
    except ServiceError as exc:
        messages.error(request, buy_message(exc))
        return redirect(back)
    return redirect(order.get_absolute_url())


def buy_message(exc: ServiceError) -> str:
    """A reservation refusal in words (shop, drops): nothing was reserved."""
    if exc.code == "sold_out":
        left = exc.extra.get("available")
        if left:
            return ngettext("Only %(count)d left — choose fewer. Nothing was reserved.",
                            "Only %(count)d left — choose fewer. Nothing was reserved.", left) % {"count": left}
        return _("Sold out — the last ones just went. Nothing was reserved.")
    return _("%(problem)s Nothing was reserved.") % {"problem": exc.detail}


@login_required
@require_GET
def download(request, token):
    """Serve a digital item through storage after checking the link, its buyer and the paid order."""
    try:
        stored, filename = services.open_download(token, request.user)
    except NotFound:
        raise Http404("No such download.") from None
    except Forbidden as exc:
        return HttpResponseForbidden(exc.detail)
    content_type = mimetypes.guess_type(filename)[0] or "application/octet-stream"
    try:  # nginx (X-Accel-Redirect), a presigned URL, or an async chunked stream: never held whole
        response = send_stored(request, stored.name, storage=stored.storage, content_type=content_type,
                               expire=300, attachment=filename)
    except OSError:
        raise Http404("No such download.") from None
    response["Cache-Control"] = "private, no-store"
    return response


def downloads_section(request, order, lines) -> str:
    """Order page section: download links for the paid digital items among `lines`."""
    ids = {ln.pk for ln in lines}
    items = [d for d in services.downloads_for(order, request.user) if d["line"].pk in ids]
    if not items:
        return ""
    return render_to_string("commerce/_downloads.html", {"items": items,
                                                          "hours": services.DOWNLOAD_MAX_AGE // 3600}, request)
