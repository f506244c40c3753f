"""Analytics pages: the control room's telemetry partial and the creator's experiments dashboard.
Thin: check the team role, call one selector or service, render."""
from django import forms
from django.contrib import messages
from django.http import Http404
from django.shortcuts import redirect, render
from django.utils.translation import gettext, gettext_lazy as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_POST

from groupbuys.models import GroupBuy
from events.dashboard_views import event_page
from events.models import Drop
from microstage.errors import ServiceError
from microstage.models import EDIT_ROLES, MODERATION_ROLES
from microstage.views import team_page

from . import selectors, services
from .models import Experiment


@event_page(MODERATION_ROLES)
@require_GET
@never_cache
def control_telemetry(request, event):
    """The control room loads this with htmx: player and checkout health of the show."""
    return render(request, "analytics/_telemetry.html", {"event": event,
                                                         "summary": selectors.telemetry_summary(event.pk)})


class ExperimentForm(forms.Form):
    name = forms.CharField(max_length=120)
    item = forms.ChoiceField(label=_("What to test"), help_text=_("One of your drops or group-buys."))
    variants = forms.CharField(widget=forms.Textarea(attrs={"rows": 3}), initial="a 15.00 50\nb 12.00 50",
                               help_text=_("One variant a line: key, price, weight (e.g. “a 15.00 50”)."))

    def __init__(self, *args, creator, **kwargs):
        super().__init__(*args, **kwargs)
        choices = [(f"drop:{d.pk}", f"Drop: {d.product.name} ({d.event.title})")
                   for d in Drop.objects.filter(event__creator=creator).select_related("product", "event")]
        choices += [(f"group_buy:{g.pk}", f"Group-buy: {g}") for g in
                    GroupBuy.objects.filter(creator=creator, status=GroupBuy.Status.OPEN).select_related("product")]
        self.fields["item"].choices = [("", "Choose")] + choices

    def clean_variants(self):
        out = []
        for line in self.cleaned_data["variants"].splitlines():
            parts = line.split()
            if not parts:
                continue
            if len(parts) != 3:
                raise forms.ValidationError(gettext("Each line is: key price weight."))
            out.append({"key": parts[0], "price": parts[1].replace(",", "."), "weight": parts[2]})
        return out


@team_page(EDIT_ROLES)
def experiments(request):
    form = ExperimentForm(request.POST or None, creator=request.creator)
    if request.method == "POST" and form.is_valid():
        target, target_id = form.cleaned_data["item"].split(":", 1)
        try:
            services.create_experiment(creator=request.creator, name=form.cleaned_data["name"], target=target,
                                       target_id=target_id, variants=form.cleaned_data["variants"], actor=request.user)
        except ServiceError as exc:
            form.add_error(None, exc.detail)
        else:
            messages.success(request, gettext("Experiment started: each visitor now sees one variant."))
            return redirect("dash-experiments")
    rows = [{"experiment": e, "results": selectors.experiment_results(e)}
            for e in Experiment.objects.filter(creator=request.creator).order_by("-created_at")[:50]]
    return render(request, "analytics/experiments.html", {"form": form, "rows": rows},
                  status=400 if request.method == "POST" else 200)


@team_page(EDIT_ROLES)
@require_POST
def experiment_stop(request, experiment_id):
    exp = Experiment.objects.filter(pk=experiment_id, creator=request.creator).first()
    if exp is None:
        raise Http404("No such experiment.")
    services.stop_experiment(exp, actor=request.user)
    messages.success(request, gettext("“%(name)s” stopped: everyone sees the normal price again.") % {"name": exp.name})
    return redirect("dash-experiments")
