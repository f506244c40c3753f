"""Creator dashboard pages for events: list, create/edit, tiers, publish, duplicate, cancel, attendees."""
from functools import wraps

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.translation import gettext as _, ngettext
from django.views.decorators.http import require_POST

from microstage.errors import Conflict, ServiceError
from microstage import csvfile
from microstage.middleware import SESSION_KEY
from microstage.models import DOOR_ROLES, EDIT_ROLES, GUEST_DATA_ROLES, Role
from microstage.selectors import role_of
from microstage.text import render_markdown
from microstage.views import form_errors, team_page

from . import consent, perks, selectors
from .services import events as event_services
from .forms import AttendeeSearchForm, CancelForm, EventForm, TierForm
from .models import Event, TicketTier

ATTENDEES_PER_PAGE = 50

# What each readiness reason asks the creator to fix: reason key → (page, anchor).
_FIX = {
    "title": ("dash-event-edit", "id_title"),
    "description": ("dash-event-edit", "id_description"),
    "past": ("dash-event-edit", "id_starts_at"),
    "venue": ("dash-event-edit", "id_venue_name"),
    "no_tier": ("dash-tier-new", ""),
    "no_quantity": ("dash-event", "tiers"),
}


def event_page(roles):
    """Dashboard page about one event: 404 unless the user is on its creator's team; a role outside
    `roles` is sent back with a message. Sets request.creator, request.role and request.can_edit."""

    def decorator(view):
        @wraps(view)
        @login_required
        def wrapper(request, event_id, *args, **kwargs):
            event = Event.objects.select_related("creator").filter(pk=event_id).first()
            role = role_of(request.user, event.creator_id) if event else None
            if role is None:
                raise Http404("No such event.")
            if request.session.get(SESSION_KEY) != event.creator_id:
                request.session[SESSION_KEY] = event.creator_id  # the sidebar follows the event's creator
            if role not in roles:
                messages.error(request, _("Your role (%(label)s) cannot do that.") % {"label": Role(role).label})
                return redirect("dash-event", event.pk) if role in DOOR_ROLES else redirect("dash-events")
            request.creator, request.role, request.can_edit = event.creator, role, role in EDIT_ROLES
            return view(request, event, *args, **kwargs)

        return wrapper

    return decorator


def _readiness(event: Event) -> list[dict]:
    """Readiness reasons with a link to where each one is fixed."""
    items = []
    for key, reason in selectors.readiness_items(event):
        name, anchor = _FIX.get(key, ("dash-event-edit", ""))
        items.append({"text": reason, "url": reverse(name, args=[event.pk]) + (f"#{anchor}" if anchor else "")})
    return items


def _status(form) -> int:
    return 400 if form.errors else 200


# --- list, create, edit ----------------------------------------------------------------------

@team_page()
def event_list(request):
    groups = selectors.dashboard_events(request.creator)
    return render(request, "events/dashboard/list.html", {
        "groups": [("drafts", "Drafts", groups["drafts"]), ("upcoming", "Upcoming", groups["upcoming"]),
                   ("past", "Past", groups["past"]), ("cancelled", "Cancelled", groups["cancelled"])],
        "has_events": any(groups.values()), "can_edit": request.role in EDIT_ROLES,
        "can_door": request.role in DOOR_ROLES, "now": timezone.now(),
    })


@team_page(roles=EDIT_ROLES)
def event_new(request):
    last = request.creator.events.order_by("-created_at").values_list("timezone", flat=True).first()
    form = EventForm(request.POST or None, request.FILES or None, initial={
        "timezone": last or settings.TIME_ZONE, "language": translation.get_language(), "mode": Event.Mode.HYBRID,
        "visibility": Event.Visibility.PUBLIC})
    if request.method == "POST" and form.is_valid():
        try:
            event = event_services.create_event(creator=request.creator, actor=request.user, **form.service_fields())
        except ServiceError as exc:
            form_errors(form, exc)
        else:
            messages.success(request, _("Draft saved. Next: add a ticket tier, then publish."))
            return redirect("dash-event", event.pk)
    return render(request, "events/dashboard/event_form.html", {"form": form, "event": None,
                                                                "guess_timezone": not request.POST},
                  status=_status(form))


@event_page(EDIT_ROLES)
def event_edit(request, event):
    form = EventForm(request.POST or None, request.FILES or None, initial=EventForm.initial_for(event))
    if request.method == "POST" and form.is_valid():
        try:
            event_services.update_event(event, actor=request.user, **form.service_fields())
        except ServiceError as exc:
            form_errors(form, exc)
        else:
            messages.success(request, _("Saved."))
            return redirect("dash-event", event.pk)
    return render(request, "events/dashboard/event_form.html", {"form": form, "event": event},
                  status=_status(form))


@require_POST
@team_page(roles=EDIT_ROLES)
def markdown_preview(request):
    return HttpResponse(render_markdown(request.POST.get("description", "")[:20000]) or
                        '<p class="muted">Nothing to preview yet.</p>')


# --- one event -------------------------------------------------------------------------------

def _detail(request, event, *, status=200, publish_failed=False):
    drops = selectors.drops_with_availability(event, variant_prices=getattr(request, "variant_prices", None))
    return render(request, "events/dashboard/detail.html", {
        "event": event, "tiers": selectors.tiers_with_sales(event), "drops": drops,
        "missing": _readiness(event) if event.status == Event.Status.DRAFT else [],
        "counts": selectors.checkin_counts(event), "can_edit": request.can_edit, "publish_failed": publish_failed,
        "now": timezone.now(),
    }, status=status)


@event_page(DOOR_ROLES)
def event_detail(request, event):
    return _detail(request, event)


@require_POST
@event_page(EDIT_ROLES)
def event_publish(request, event):
    try:
        event_services.publish(event, actor=request.user)
    except Conflict as exc:
        if exc.code == "not_ready":
            return _detail(request, event, status=409, publish_failed=True)
        messages.error(request, exc.detail)
    except ServiceError as exc:
        messages.error(request, exc.detail)
    else:
        messages.success(request, _("Published. Share the link: tickets are on sale."))
    return redirect("dash-event", event.pk)


@require_POST
@event_page(EDIT_ROLES)
def event_duplicate(request, event):
    copy = event_services.duplicate(event, actor=request.user)
    messages.success(request, _("A draft copy with the same tiers is ready: set its date, then publish."))
    return redirect("dash-event-edit", copy.pk)


@event_page(EDIT_ROLES)
def event_cancel(request, event):
    if event.status == Event.Status.CANCELLED:
        messages.info(request, _("This event is already cancelled."))
        return redirect("dash-event", event.pk)
    form = CancelForm(request.POST or None, event=event)
    if request.method == "POST" and form.is_valid():
        event, refunded = event_services.cancel_event(event, reason=form.cleaned_data["reason"].strip(),
                                                      actor=request.user)
        messages.success(request, ngettext(
            "%(title)s is cancelled. %(count)s paid order refunded; every ticket holder was emailed.",
            "%(title)s is cancelled. %(count)s paid orders refunded; every ticket holder was emailed.",
            refunded) % {"title": event.title, "count": refunded})
        return redirect("dash-event", event.pk)
    return render(request, "events/dashboard/cancel.html", {
        "event": event, "form": form, "paid_orders": selectors.paid_order_count(event),
        "tickets": selectors.checkin_counts(event)["tickets"]}, status=_status(form))


# --- tiers -----------------------------------------------------------------------------------

@event_page(EDIT_ROLES)
def tier_new(request, event):
    currency = event.tiers.values_list("currency", flat=True).first() or settings.DEFAULT_CURRENCY
    form = TierForm(request.POST or None, event=event, initial={"currency": currency, "max_per_order": 10,
                                                                "kind": TicketTier.Kind.STANDARD})
    if request.method == "POST" and form.is_valid():
        try:
            tier = perks.create_tier(event, actor=request.user, **form.service_data())
        except ServiceError as exc:
            form_errors(form, exc)
        else:
            messages.success(request, _("Tier “%(name)s” added.") % {"name": tier.name})
            return redirect(reverse("dash-event", args=[event.pk]) + "#tiers")
    return render(request, "events/dashboard/tier_form.html", {"form": form, "event": event, "tier": None},
                  status=_status(form))


@event_page(EDIT_ROLES)
def tier_edit(request, event, tier_id):
    tier = TicketTier.objects.select_related("event").filter(pk=tier_id, event=event).first()
    if tier is None:
        raise Http404("No such tier.")
    form = TierForm(request.POST or None, event=event, initial=TierForm.initial_for(tier))
    if request.method == "POST" and form.is_valid():
        try:
            perks.update_tier(tier, actor=request.user, **form.service_data())
        except ServiceError as exc:
            form_errors(form, exc)
        else:
            messages.success(request, _("Tier “%(name)s” saved.") % {"name": form.cleaned_data['name']})
            return redirect(reverse("dash-event", args=[event.pk]) + "#tiers")
    return render(request, "events/dashboard/tier_form.html", {"form": form, "event": event, "tier": tier},
                  status=_status(form))


# --- attendees -------------------------------------------------------------------------------

@event_page(DOOR_ROLES)
def attendees(request, event):
    search = AttendeeSearchForm(request.GET or None)
    q = search.cleaned_data["q"].strip() if search.is_valid() else ""
    guest_data = request.role in GUEST_DATA_ROLES  # the door sees names, tiers, tickets and check-ins only
    if not guest_data:
        search.fields["q"].widget.attrs["placeholder"] = _("Name, tier or ticket id")
    page = Paginator(selectors.attendees(event, q, guest_data=guest_data), ATTENDEES_PER_PAGE).get_page(
        request.GET.get("page"))
    for ticket in page.object_list:
        ticket.door_name = selectors.door_name(ticket)
    answered = consent.answers_by_ticket(event, [t.pk for t in page.object_list])
    for t in page.object_list:  # the recording release at a glance
        t.no_recording = consent.no_recording(answered.get(t.pk, {}))
    return render(request, "events/dashboard/attendees.html", {
        "event": event, "search": search, "q": q, "page": page, "counts": selectors.checkin_counts(event),
        "can_edit": request.can_edit, "guest_data": guest_data})


@event_page(DOOR_ROLES)
def attendees_csv(request, event):
    search = AttendeeSearchForm(request.GET or None)
    q = search.cleaned_data["q"].strip() if search.is_valid() else ""
    tz = event.tz

    def local(value):
        return value.astimezone(tz).strftime("%Y-%m-%d %H:%M") if value else ""

    keys = [q["key"] for q in consent.questions_of(event)]
    answered = consent.answers_by_ticket(event) if keys else {}

    def yes_no(value) -> str:
        return "" if value is None else ("yes" if value else "no")
    guest_data = request.role in GUEST_DATA_ROLES

    def rows():
        if not guest_data:  # door staff: what the door needs, no emails and no orders
            yield ["ticket", "status", "tier", "holder_name", f"checked_in_at ({event.timezone})"]
            for t in selectors.attendees(event, q, guest_data=False).iterator(chunk_size=500):
                yield [t.pk, t.status, t.tier.name, selectors.door_name(t), local(t.checked_in_at)]
            return
        yield ["ticket", "status", "tier", "holder_name", "holder_email", "order", "order_status",
               f"checked_in_at ({event.timezone})", f"issued_at ({event.timezone})",
               *(f"consent:{k}" for k in keys), *(["no_recording"] if keys else [])]
        for t in selectors.attendees(event, q).iterator(chunk_size=500):
            order = t.order_line.order
            answers = answered.get(t.pk, {})
            yield [t.pk, t.status, t.tier.name, selectors.door_name(t),
                   t.holder_email, order.pk, order.status, local(t.checked_in_at), local(t.created_at),
                   *(yes_no(answers.get(k)) for k in keys),
                   *([yes_no(consent.no_recording(answers))] if keys else [])]

    return csvfile.response(request, rows(), csvfile.filename("attendees", event.slug))
