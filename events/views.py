"""Public event pages: discovery, creator pages, landing, tier picker, calendars, previews and tickets."""
from datetime import datetime, time, timedelta
from urllib.parse import urlencode

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.contrib.auth.views import redirect_to_login
from django.core.cache import cache
from django.core.paginator import Paginator
from django.http import Http404, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.template.loader import render_to_string
from django.utils import timezone
from django.utils.translation import gettext, gettext_lazy as _
from django.views.decorators.cache import cache_control, never_cache
from django.views.decorators.http import require_GET, require_POST

from commerce import services as commerce
from commerce.services import LineRequest
from microstage.errors import ServiceError
from microstage.models import Creator

from . import bundles, consent, ical, page_cache, pages, selectors, transfers, waitlist_views
from .models import TICKET_KIND, Bundle, Event, Ticket, in_zone
from .services import tickets as ticket_services

PAGE_SIZE = 12
RADIUS_CHOICES = [(5, "5 km"), (10, "10 km"), (25, "25 km"), (50, "50 km"), (100, "100 km"), (250, "250 km")]
FEED_PAST_DAYS = 90


# --- discovery ------------------------------------------------------------------------------

class DiscoverForm(forms.Form):
    q = forms.CharField(required=False, max_length=200, label=_("Search"),
                        widget=forms.TextInput(attrs={"type": "search", "placeholder": _("Artist, show, venue…"),
                                                      "autocomplete": "off"}))
    near = forms.CharField(required=False, max_length=60, label=_("Near (latitude, longitude)"),
                           widget=forms.TextInput(attrs={"placeholder": "52.52, 13.40", "inputmode": "decimal",
                                                         "autocomplete": "off"}))
    radius_km = forms.TypedChoiceField(required=False, choices=RADIUS_CHOICES, coerce=int, empty_value=50,
                                       initial=50, label=_("Within"))
    starts_after = forms.DateField(required=False, label=_("From"), widget=forms.DateInput(attrs={"type": "date"}))
    starts_before = forms.DateField(required=False, label=_("Until"), widget=forms.DateInput(attrs={"type": "date"}))

    def clean_near(self):
        value = (self.cleaned_data.get("near") or "").replace(" ", "")
        if not value:
            return None
        near = selectors.parse_near(value)
        if near is None:
            raise forms.ValidationError(gettext("Use latitude,longitude — for example 52.52,13.40."))
        return near

    def clean(self):
        data = super().clean()
        after, before = data.get("starts_after"), data.get("starts_before")
        if after and before and before < after:
            self.add_error("starts_before", gettext("Pick a date on or after the “From” date."))
        return data

    def filters(self) -> dict:
        """Only the fields that parsed: a bad field is reported and ignored, never a 500."""
        data = self.cleaned_data if self.is_bound else {}
        errors = self.errors if self.is_bound else {}
        tz = timezone.get_current_timezone()
        out: dict = {}
        if data.get("q") and "q" not in errors:
            out["q"] = data["q"].strip()
        if data.get("near") and "near" not in errors:
            out["near"] = data["near"]
            out["radius_km"] = float(data.get("radius_km") or 50) if "radius_km" not in errors else 50.0
        if data.get("starts_after") and "starts_after" not in errors:
            out["starts_after"] = timezone.make_aware(datetime.combine(data["starts_after"], time.min), tz)
        if data.get("starts_before") and "starts_before" not in errors:
            out["starts_before"] = timezone.make_aware(
                datetime.combine(data["starts_before"] + timedelta(days=1), time.min), tz)
        return out


def _page(request, queryset):
    return Paginator(queryset, PAGE_SIZE).get_page(request.GET.get("page"))


def _query_without_page(request) -> str:
    params = request.GET.copy()
    params.pop("page", None)
    return params.urlencode()


def discover(request):
    return page_cache.cached_page(request, page="discover", scopes=("listing", "site"),
                                  render=lambda: _discover(request))


def _discover(request):
    data = None
    if request.GET:
        data = request.GET.copy()
        data.setdefault("radius_km", "50")
    form = DiscoverForm(data)
    if form.is_bound:
        form.is_valid()
    filters = form.filters()
    page = _page(request, selectors.discover(**filters, viewer=request.user))
    return render(request, "events/discover.html", {
        "form": form, "page_obj": page, "events": page.object_list, "filters": filters,
        "filtered": bool(filters), "query": _query_without_page(request)})


def creator_page(request, slug):
    return page_cache.cached_page(request, page=f"creator:{slug}", scopes=("listing", "site"),
                                  render=lambda: _creator_page(request, slug), allowed_params=("page",))


def _creator_page(request, slug):
    creator = get_object_or_404(Creator, slug=slug)
    page = _page(request, selectors.discover(creator=creator.pk, viewer=request.user))
    return render(request, "events/creator.html", {
        "creator": creator, "page_obj": page, "events": page.object_list, "query": "",
        "feed_url": f"/c/{creator.slug}/events.ics",
        "feed_webcal": pages.absolute(f"/c/{creator.slug}/events.ics").replace("https://", "webcal://")
        .replace("http://", "webcal://")})


# --- the landing page and its tier picker ---------------------------------------------------

def _event_or_404(slug, user=None) -> Event:
    event = selectors.landing_event(slug, viewer=user)
    if event is None:
        raise Http404("No such event.")
    return event


def _tiers(event: Event, user=None) -> list:
    now = timezone.now()
    tiers = selectors.tiers_with_availability(event, now, buyer=user)
    for tier in tiers:
        tier.state = pages.tier_state(tier, now)
        tier.choices = range(1, min(tier.max_per_order, tier.available) + 1) if tier.state == "on_sale" else []
        tier.local_sales_start = in_zone(tier.sales_start, event.tz) if tier.sales_start else None
        tier.local_members_only_until = (in_zone(tier.members_only_until, event.tz)
                                         if tier.members_only_until and tier.members_only_until > now else None)
        tier.opens_later = bool(tier.sales_start and tier.sales_start > now)
    waitlist_views.annotate_tiers(tiers, user)  # "sold out — join the waiting list", your place in line
    return tiers


def _event_id_for(slug: str) -> str:
    """The event id a landing slug names, remembered in the cache (no query on a cached view)."""
    key = page_cache.SLUG_ID_KEY.format(slug)
    found = cache.get(key)
    if found is None:
        found = Event.objects.filter(slug=slug).values_list("pk", flat=True).first() or ""
        cache.set(key, found, 300)
    return found


def landing(request, slug):
    if not page_cache.cacheable(request):
        return _landing(request, slug)
    return page_cache.cached_page(request, page=f"landing:{slug}", render=lambda: _landing(request, slug),
                                  scopes=(f"event:{_event_id_for(slug)}", "site"), allowed_params=())


def _landing(request, slug):
    event = _event_or_404(slug, request.user)
    tiers = _tiers(event, request.user)
    for tier in tiers:  # a choice kept across the log-in detour, or the tier a "notify me" link names
        tier.chosen = _int(request.GET.get(f"qty_{tier.pk}")) or (1 if request.GET.get("tier") == tier.pk else 0)
    buyable = any(t.state == "on_sale" for t in tiers)
    variant_prices = getattr(request, "variant_prices", None)  # the visitor's experiment prices
    drops = selectors.drops_with_availability(event, variant_prices=variant_prices)
    for drop in drops:  # a "notify me" link opens its drop already chosen
        drop.chosen = request.GET.get("drop") == drop.pk
    return render(request, "events/landing.html", {
        "event": event, "tiers": tiers, "buyable": buyable, "drops": drops,
        "passes": _usable_passes(request.user, event) if buyable else [],
        "json_ld": pages.json_ld_script(pages.json_ld(event, tiers)),
        "canonical_url": pages.absolute(event.get_absolute_url()),
        "og_image": pages.preview_image_url(event), "og_description": pages.plain_text(event.description, 200),
        "calendar": pages.calendar_links(event),
        "ws_path": f"/ws/events/{event.pk}/", "bundles": bundles.for_event(event)})


@never_cache
@require_GET
def availability(request, slug):
    """The small partial the tier picker polls: one status per tier, swapped in out of band."""
    def render_partial():
        event = _event_or_404(slug, request.user)
        return render(request, "events/_availability.html", {"event": event, "tiers": _tiers(event, request.user)})

    if not page_cache.cacheable(request):
        return render_partial()
    return page_cache.micro_cached(request, page=f"availability:{slug}", render=render_partial,
                                   scopes=(f"event:{_event_id_for(slug)}",))


def _int(value) -> int:
    try:
        return int(str(value).strip())
    except (TypeError, ValueError):
        return 0


def _usable_passes(user, event: Event) -> list:
    from memberships.selectors import usable_passes

    return list(usable_passes(user, event.creator_id).select_related("product")) if user.is_authenticated else []


def _payment_options(request) -> tuple[tuple[str, str], ...] | None:
    """The tier picker's "pay with a pass" / "discount code" choice as line options; None when both."""
    pass_id = (request.POST.get("pass") or "").strip()[:40]
    code = (request.POST.get("code") or "").strip()[:40]
    if pass_id and code:
        return None
    return (("pass", pass_id),) if pass_id else (("code", code),) if code else ()


@require_POST
def reserve(request, slug):
    event = _event_or_404(slug, request.user)
    tier_ids = list(event.tiers.values_list("pk", flat=True))
    raw = {tid: (request.POST.get(f"qty_{tid}") or "").strip() for tid in tier_ids}
    back = event.get_absolute_url()
    if any(v and not v.isdigit() for v in raw.values()):
        messages.error(request, gettext("Choose how many tickets you want from the list."))
        return redirect(back + "#tickets")
    wanted = {tid: int(v) for tid, v in raw.items() if v and int(v) > 0}
    if not wanted:
        messages.error(request, gettext("Choose at least one ticket."))
        return redirect(back + "#tickets")
    if not request.user.is_authenticated:
        # Come back to the same choice after logging in.
        messages.info(request, gettext("Log in or sign up to reserve your tickets — your choice is kept."))
        return redirect_to_login(f"{back}?{urlencode({f'qty_{t}': q for t, q in wanted.items()})}#tickets")
    try:
        options = _payment_options(request)
        if options is None:
            messages.error(request, gettext("Use a pass or a discount code, not both. Nothing was reserved."))
            return redirect(back + "#tickets")
        order = commerce.reserve(requests=[LineRequest(TICKET_KIND, tid, q, options)
                                           for tid, q in wanted.items()],
                                 buyer=request.user, email=request.user.email)
    except ServiceError as exc:
        messages.error(request, _reserve_message(exc))
        return redirect(back + "#tickets")
    return redirect(order.get_absolute_url())


def _reserve_message(exc: ServiceError) -> str:
    if exc.code == "sold_out":
        left = exc.extra.get("available")
        if left:
            return gettext("Not enough tickets left: only %(left)s available. Choose fewer and try again.") % {
                "left": left}
        return gettext("Sold out — those tickets just went. Nothing was reserved.")
    if exc.code == "not_on_sale":
        return gettext("Those tickets are not on sale right now. Nothing was reserved.")
    return gettext("%(detail)s Nothing was reserved.") % {"detail": exc.detail}


# --- calendars and the social preview ------------------------------------------------------

def _ics_response(text: str, filename: str, attachment: bool) -> HttpResponse:
    response = HttpResponse(text.encode(), content_type="text/calendar; charset=utf-8")
    disposition = "attachment" if attachment else "inline"
    response["Content-Disposition"] = f'{disposition}; filename="{filename}"'
    response["Cache-Control"] = "public, max-age=300"
    return response


@require_GET
def event_ics(request, slug):
    event = _event_or_404(slug, request.user)
    return _ics_response(ical.calendar([event], name=event.title), f"{event.slug}.ics", attachment=True)


@require_GET
def creator_ics(request, slug):
    creator = get_object_or_404(Creator, slug=slug)
    events = list(selectors.discover(creator=creator.pk,
                                     starts_after=timezone.now() - timedelta(days=FEED_PAST_DAYS))[:500])
    return _ics_response(
        ical.calendar(events, name=gettext("%(creator)s on Microstage") % {"creator": creator.name}),
        f"{creator.slug}.ics",
        attachment=False,
    )


@require_GET
@cache_control(public=True, max_age=3600)
def preview_png(request, slug):
    """The social preview drawn on demand (when the Celery task has not stored one yet), cached."""
    from .previews import draw

    event = _event_or_404(slug, request.user)
    key = f"event-preview:{event.pk}:{int(event.updated_at.timestamp())}"
    data = cache.get(key)
    if data is None:
        data = draw(event)
        cache.set(key, data, 24 * 3600)
    return HttpResponse(data, content_type="image/png")


# --- my tickets -----------------------------------------------------------------------------

class TransferForm(forms.Form):
    email = forms.EmailField(max_length=254, label=_("Their email address"))


def _ticket_rows(tickets, user) -> list[dict]:
    rows = []
    for ticket in tickets:
        mine = ticket.holder_id == user.pk or ticket.holder_id is None
        row = {"ticket": ticket, "event": ticket.event, "calendar": pages.calendar_links(ticket.event),
               "valid": ticket.status == Ticket.Status.VALID, "transferable": ticket.holder_id == user.pk}
        if row["valid"] and mine:
            row["qr"] = pages.ticket_qr_svg(ticket_services.qr_payload(ticket), pages.ticket_label(ticket))
            state = consent.onboarding(ticket)
            if state["questions"]:
                row["onboarding"] = state
        rows.append(row)
    return rows


@login_required
def my_tickets(request):
    now = timezone.now()
    tickets = list(selectors.tickets_of(request.user))
    upcoming = [t for t in tickets if t.event.ends_at > now]
    past = [t for t in tickets if t.event.ends_at <= now][::-1]
    return render(request, "events/tickets.html", {
        "upcoming": _ticket_rows(upcoming, request.user), "past": _ticket_rows(past, request.user)})


@login_required
@require_POST
def ticket_transfer(request, ticket_id):
    """Two steps on the server: the form posts here, we ask for confirmation, the confirmation moves it."""
    ticket = selectors.tickets_of(request.user).filter(pk=ticket_id).first()
    if ticket is None:
        raise Http404("No such ticket.")
    form = TransferForm(request.POST)
    if not form.is_valid():
        return render(request, "events/ticket_transfer.html", {"ticket": ticket, "form": form}, status=400)
    if request.POST.get("confirm") != "yes":
        return render(request, "events/ticket_transfer.html", {"ticket": ticket, "form": form, "confirming": True})
    try:
        transfers.transfer_ticket(ticket_id=ticket.pk, actor=request.user, email=form.cleaned_data["email"])
    except ServiceError as exc:
        if getattr(exc, "fields", None):
            for message in exc.fields.get("email", []):
                form.add_error("email", message)
        else:
            form.add_error(None, exc.detail)
        return render(request, "events/ticket_transfer.html", {"ticket": ticket, "form": form}, status=400)
    messages.success(
        request,
        gettext(
            "Ticket sent to %(email)s. Your old QR code no longer works; "
            "the ticket is theirs once they claim it from the email."
        )
        % {"email": form.cleaned_data["email"]},
    )
    return redirect("my-tickets")


@never_cache
def ticket_claim(request, token):
    """The emailed link of a transferred ticket: the recipient, logged in and verified, takes it."""
    from microstage.verification import ask_to_verify, has_verified_email

    try:
        ticket = transfers.ticket_for_claim(token)
    except ServiceError as exc:
        return render(request, "events/ticket_claim.html", {"invalid": exc.detail}, status=404)
    if not request.user.is_authenticated:
        return redirect_to_login(request.get_full_path())
    if request.method == "POST":
        try:
            transfers.claim_ticket(token=token, user=request.user)
        except ServiceError as exc:
            if exc.code == "email_unverified":
                ask_to_verify(request, ticket.holder_email)
                messages.info(
                    request,
                    gettext("We sent a confirmation link to %(holder_email)s. Open it, then claim the ticket here.")
                    % {"holder_email": ticket.holder_email},
                )
            elif exc.status == 404:
                return render(request, "events/ticket_claim.html", {"invalid": exc.detail}, status=404)
            else:
                messages.error(request, exc.detail)
            return redirect(request.path)
        messages.success(
            request, gettext("Your ticket for %(title)s is here, with its QR code.") % {"title": ticket.event.title}
        )
        return redirect("my-tickets")
    return render(request, "events/ticket_claim.html", {
        "ticket": ticket, "same_address": ticket.holder_email.lower() == request.user.email.lower(),
        "verified": has_verified_email(request.user, ticket.holder_email)})


def order_tickets_section(request, order, lines) -> str:
    """The tickets block of an order page (commerce asks for it through its section registry)."""
    if order.status not in ("paid", "partially_refunded", "refunded"):
        return ""
    tickets = list(Ticket.objects.filter(order_line__order=order).select_related("event", "tier", "event__creator")
                   .order_by("created_at"))
    if not tickets:
        return ""
    user = request.user
    rows = _ticket_rows([t for t in tickets if t.holder_id == user.pk], user)
    others = [t for t in tickets if t.holder_id != user.pk]
    from catalog.shop_views import downloads_section  # a tier's download perk arrives with the ticket

    return render_to_string("events/_order_tickets.html", {"rows": rows, "others": others, "order": order},
                            request=request) + downloads_section(request, order, lines)


def order_bundle_section(request, order, lines) -> str:
    """The order page's bundle block: the tickets (unless the ticket block shows them) and the credit."""
    tickets_html = "" if order.lines.filter(kind=TICKET_KIND).exists() else order_tickets_section(request, order, lines)
    rows = []
    for line in lines:
        bundle = Bundle.objects.filter(pk=line.item_id).first()
        if bundle is not None:
            rows.append({"line": line, "bundle": bundle, "items": bundles.parts(bundle),
                         "credit": bundle.credit * line.quantity})
    return render_to_string("events/_order_bundles.html", {"order": order, "rows": rows,
                                                           "tickets_html": tickets_html}, request=request)
