"""Attendee pages for consent and "notify me": the onboarding form of a ticket, and the notify-me
buttons of the event and watch pages (thin: they call events.consent and events.notices)."""
from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.contrib.auth.views import redirect_to_login
from django.http import Http404
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_POST

from microstage.errors import Invalid, NotFound, ServiceError

from . import consent, notices, selectors
from .drop_views import safe_next
from .models import Drop, Event, TicketTier

YES_NO = [("yes", "Yes"), ("no", "No")]


class OnboardingForm(forms.Form):
    """One yes/no radio group per question of the event's form."""

    def __init__(self, questions, *args, **kwargs):
        super().__init__(*args, **kwargs)
        for q in questions:
            self.fields[q["key"]] = forms.ChoiceField(
                label=q["text"], choices=YES_NO, required=q.get("required", False), widget=forms.RadioSelect,
                error_messages={"required": _("This question needs an answer.")})

    def answers(self) -> dict:
        return {k: v == "yes" for k, v in self.cleaned_data.items() if v}


@login_required
@require_http_methods(["GET", "POST"])
def onboarding(request, ticket_id):
    try:
        ticket = consent.holder_ticket(request.user, ticket_id)
    except NotFound as exc:
        raise Http404(exc.detail) from exc
    state = consent.onboarding(ticket)
    initial = {k: "yes" if v else "no" for k, v in state["answers"].items()}
    form = OnboardingForm(state["questions"], request.POST or None, initial=initial)
    status = 200
    if request.method == "POST":
        status = 400
        if form.is_valid():
            try:
                consent.answer(request.user, ticket.pk, form.answers())
            except Invalid as exc:
                for name, msgs in exc.fields.items():
                    key = name.removeprefix("answers.")
                    for msg in msgs:
                        form.add_error(key if key in form.fields else None, msg)
            except ServiceError as exc:
                form.add_error(None, exc.detail)
                status = exc.status
            else:
                messages.success(request, _("Thanks, your answers are saved. You can change them until doors open."))
                return redirect("my-tickets")
    rows = [{"text": q["text"], "answer": state["answers"].get(q["key"])} for q in state["questions"]]
    return render(request, "events/onboarding.html", {
        "ticket": ticket, "event": ticket.event, "form": form, "state": state, "rows": rows}, status=status)


def _back_or_login(request, back: str):
    messages.info(request, _("Log in or sign up and we'll tell you when it opens."))
    return redirect_to_login(back)


@require_POST
def drop_notify_me(request, slug, drop_id):
    event = selectors.landing_event(slug, viewer=request.user)
    drop = Drop.objects.select_related("event", "product").filter(pk=drop_id, event=event).first() if event else None
    if drop is None:
        raise Http404("No such drop.")
    back = safe_next(request, f"{event.get_absolute_url()}?drop={drop.pk}#drop-{drop.pk}")
    if not request.user.is_authenticated:
        return _back_or_login(request, back)
    try:
        req = notices.request_drop(request.user, drop)
    except ServiceError as exc:
        messages.error(request, exc.detail)
    else:
        messages.success(request, _("We'll tell you once, the moment the drop opens.") if req.notified_at is None
                         else _("We already told you about this drop."))
    return redirect(back)


@require_POST
def tier_notify_me(request, slug, tier_id):
    event = selectors.landing_event(slug, viewer=request.user)
    tier = TicketTier.objects.select_related("event").filter(pk=tier_id, event=event).first() if event else None
    if tier is None or event.status == Event.Status.DRAFT:
        raise Http404("No such tier.")
    back = f"{event.get_absolute_url()}?tier={tier.pk}#tier-{tier.pk}"
    if not request.user.is_authenticated:
        return _back_or_login(request, back)
    try:
        notices.request_tier(request.user, tier)
    except ServiceError as exc:
        messages.error(request, exc.detail)
    else:
        messages.success(request, _("We'll tell you once, when %(name)s tickets go on sale.") % {"name": tier.name})
    return redirect(back)
