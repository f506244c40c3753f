"""Waiting-list pages: join and leave from the tier picker, "my waiting lists", and the team's view
of each tier's line with what every offer became. Thin: events/waitlist.py decides."""
from urllib.parse import urlencode

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.contrib.auth.views import redirect_to_login
from django.http import Http404
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from microstage.errors import ServiceError

from . import waitlist
from .models import TicketTier, WaitlistEntry


def annotate_tiers(tiers, user) -> None:
    """Each tier gets `.waitlist_open` (sold out and on sale: people may join), `.my_entry` and
    `.my_position` for someone in line, and `.waitlist_choices` for the quantity picker."""
    now = timezone.now()
    mine = {}
    if getattr(user, "is_authenticated", False):
        for entry in (WaitlistEntry.objects.filter(user=user, tier_id__in=[t.pk for t in tiers],
                                                   status__in=WaitlistEntry.ACTIVE).select_related("order")):
            mine[entry.tier_id] = entry
    for tier in tiers:
        state = getattr(tier, "state", "")
        tier.waitlist_open = state == "sold_out" and tier.event.status == "published"
        tier.waitlist_choices = range(1, min(tier.max_per_order, 10) + 1)
        entry = mine.get(tier.pk)
        if entry is not None:
            entry.shown_status = waitlist.display_status(entry, now)
            entry.seconds_left = waitlist.offer_seconds_left(entry, now)
        tier.my_entry = entry
        tier.my_position = waitlist.position_of(entry) if entry is not None else None


def _int(value, default=1) -> int | None:
    text = (value or "").strip()
    if not text:
        return default
    return int(text) if text.isdigit() else None


@require_POST
def join(request, slug, tier_id):
    tier = TicketTier.objects.select_related("event").filter(pk=tier_id, event__slug=slug).first()
    if tier is None:
        raise Http404("No such ticket tier.")
    back = tier.event.get_absolute_url()
    if not request.user.is_authenticated:
        messages.info(request, _("Log in or sign up to join the waiting list."))
        return redirect_to_login(f"{back}?{urlencode({'waitlist': tier.pk})}#tickets")
    quantity = _int(request.POST.get(f"wlqty_{tier.pk}"))
    if quantity is None:
        messages.error(request, _("Choose how many tickets you are waiting for from the list."))
        return redirect(back + "#tickets")
    try:
        entry, created = waitlist.join(tier_id=tier.pk, user=request.user, quantity=quantity)
    except ServiceError as exc:
        messages.error(request, _("%(detail)s You were not added to the waiting list.") % {"detail": exc.detail})
        return redirect(back + "#tickets")
    position = waitlist.position_of(entry)
    if created:
        messages.success(request, _("You're on the waiting list for %(name)s: number %(position)s in line. "
                                    "We'll email you the moment tickets come back.")
                         % {"name": tier.name, "position": position})
    else:
        messages.info(request, _("You're already on this waiting list. You're number %(position)s in line.")
                      % {"position": position} if position else _("You're already on this waiting list."))
    return redirect(back + "#tickets")


@login_required
@require_POST
def leave(request, entry_id):
    entry = WaitlistEntry.objects.select_related("tier__event").filter(pk=entry_id, user=request.user).first()
    if entry is None:
        raise Http404("No such waiting-list entry.")
    try:
        waitlist.leave(entry_id=entry.pk, user=request.user)
    except ServiceError as exc:
        messages.error(request, exc.detail)
    else:
        messages.success(request, _("You left the waiting list for %(name)s.") % {"name": entry.tier.name})
    nxt = request.POST.get("next") or ""
    return redirect(nxt if nxt.startswith("/") and not nxt.startswith("//") else entry.tier.event.get_absolute_url())


@login_required
def my_waitlist(request):
    entries = list(waitlist.entries_of(request.user)[:100])
    now = timezone.now()
    for e in entries:
        e.shown_status = waitlist.display_status(e, now)
        e.position = waitlist.position_of(e)
    return render(request, "events/my_waitlist.html", {"entries": entries})


def team_waitlist(request, event):
    """Dashboard: every tier's line in order, and what each offer became."""
    now = timezone.now()
    rows = list(waitlist.list_for_event(event))
    by_tier: dict[str, dict] = {}
    for tier in event.tiers.order_by("position", "price"):
        by_tier[tier.pk] = {"tier": tier, "entries": [], "waiting": 0}
    for e in rows:
        e.shown_status = waitlist.display_status(e, now)
        group = by_tier.setdefault(e.tier_id, {"tier": e.tier, "entries": [], "waiting": 0})
        group["entries"].append(e)
        if e.status == WaitlistEntry.Status.WAITING:
            group["waiting"] += 1
            e.position = group["waiting"]
    return render(request, "events/dashboard/waitlist.html", {"event": event, "groups": list(by_tier.values())})
