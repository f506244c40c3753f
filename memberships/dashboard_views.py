"""Creator dashboard pages for memberships: overview (members, MRR, churn), plans, members, rewards, passes.

Owners and managers only; another creator's plan, reward, redemption or pass is a 404."""
from django.contrib import messages
from django.core.paginator import Paginator
from django.db.models import Count, Q
from django.http import Http404
from django.shortcuts import redirect, render
from django.views.decorators.http import require_POST
from django.utils.translation import gettext as _

from microstage.errors import ServiceError
from microstage.models import EDIT_ROLES
from microstage.views import form_errors, team_page

from . import selectors, services
from .forms import MemberSearchForm, PassProductForm, PlanForm, RewardForm
from .models import Membership, MembershipPlan, Pass, PassProduct, Reward, RewardRedemption

MEMBERS_PER_PAGE = 50
REDEMPTIONS_PER_PAGE = 50

manage = team_page(roles=EDIT_ROLES)


def _status(form) -> int:
    return 400 if form.errors else 200


def _own(model, creator, pk, what: str):
    obj = model.objects.filter(pk=pk, creator=creator).first()
    if obj is None:
        raise Http404(f"No such {what}.")
    return obj


# --- overview --------------------------------------------------------------------------------

@manage
def overview(request):
    creator = request.creator
    stats = selectors.membership_dashboard(creator.pk)
    currency = stats["currency"]
    chart = {
        "labels": [p["label"] for p in stats["history"]],
        "members": [p["members"] for p in stats["history"]],
        "mrr": [str(p["mrr"].get(currency, 0)) for p in stats["history"]],
        "currency": currency,
    }
    plans = (MembershipPlan.objects.filter(creator=creator)
             .annotate(live=Count("memberships", filter=Q(memberships__status__in=Membership.GOOD_STANDING)))
             .order_by("-is_active", "price"))
    return render(request, "memberships/dashboard/overview.html", {
        "stats": stats, "chart": chart, "plans": plans, "tab": "overview",
        "mrr_rows": sorted(stats["mrr"].items()),
    })


# --- plans -----------------------------------------------------------------------------------

@manage
def plan_new(request):
    form = PlanForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            plan = services.create_plan(actor=request.user, creator=request.creator, **form.cleaned_data)
        except ServiceError as exc:
            form_errors(form, exc)
        else:
            messages.success(request, _("Plan “%(plan)s” is open: fans can join from your membership page.")
                             % {"plan": plan.name})
            return redirect("dash-memberships")
    return render(request, "memberships/dashboard/plan_form.html", {"form": form, "plan": None, "tab": "overview"},
                  status=_status(form))


@manage
def plan_edit(request, plan_id):
    plan = _own(MembershipPlan, request.creator, plan_id, "plan")
    form = PlanForm(request.POST or None, initial=PlanForm.initial_for(plan))
    if request.method == "POST" and form.is_valid():
        try:
            services.update_plan(actor=request.user, plan_id=plan.pk, **form.cleaned_data)
        except ServiceError as exc:
            form_errors(form, exc)
        else:
            messages.success(request, _("Plan “%(plan)s” saved.") % {"plan": form.cleaned_data["name"]})
            return redirect("dash-memberships")
    return render(request, "memberships/dashboard/plan_form.html", {
        "form": form, "plan": plan, "tab": "overview",
        "members": plan.memberships.filter(status__in=Membership.GOOD_STANDING).count(),
    }, status=_status(form))


@require_POST
@manage
def plan_active(request, plan_id):
    """Deactivate (no new members; current ones keep their plan) or reopen a plan."""
    plan = _own(MembershipPlan, request.creator, plan_id, "plan")
    active = request.POST.get("active") == "1"
    try:
        services.update_plan(actor=request.user, plan_id=plan.pk, is_active=active)
    except ServiceError as exc:
        messages.error(request, exc.detail)
    else:
        messages.success(request, (_("“%(plan)s” is open to new members again.") if active else
                                   _("“%(plan)s” takes no new members. Current members keep it until they cancel."))
                         % {"plan": plan.name})
    return redirect("dash-memberships")


# --- members ---------------------------------------------------------------------------------

@manage
def members(request):
    search = MemberSearchForm(request.GET or None)
    q = status = ""
    if search.is_valid():
        q, status = search.cleaned_data["q"].strip(), search.cleaned_data["status"]
    page = Paginator(selectors.members_of(request.creator.pk, status=status, q=q),
                     MEMBERS_PER_PAGE).get_page(request.GET.get("page"))
    return render(request, "memberships/dashboard/members.html", {
        "search": search, "page": page, "q": q, "status": status, "tab": "members",
        "stats": selectors.membership_dashboard(request.creator.pk),
    })


# --- rewards ---------------------------------------------------------------------------------

@manage
def rewards(request):
    creator = request.creator
    redemptions = (RewardRedemption.objects.filter(reward__creator=creator)
                   .select_related("reward", "account__user").order_by("status", "-created_at"))
    page = Paginator(redemptions, REDEMPTIONS_PER_PAGE).get_page(request.GET.get("page"))
    return render(request, "memberships/dashboard/rewards.html", {
        "rewards": Reward.objects.filter(creator=creator).annotate(taken=Count("redemptions"))
        .order_by("-is_active", "cost_points"),
        "page": page, "tab": "rewards",
    })


def _reward_form(request, reward):
    form = RewardForm(request.POST or None, initial=RewardForm.initial_for(reward) if reward else None)
    if request.method == "POST" and form.is_valid():
        try:
            if reward is None:
                saved = services.create_reward(creator=request.creator, actor=request.user, **form.cleaned_data)
            else:
                saved = services.update_reward(creator=request.creator, actor=request.user, reward_id=reward.pk,
                                               **form.cleaned_data)
        except ServiceError as exc:
            form_errors(form, exc)
        else:
            messages.success(request, _("Reward “%(reward)s” saved.") % {"reward": saved.name})
            return redirect("dash-rewards")
    return render(request, "memberships/dashboard/reward_form.html", {"form": form, "reward": reward,
                                                                      "tab": "rewards"}, status=_status(form))


@manage
def reward_new(request):
    return _reward_form(request, None)


@manage
def reward_edit(request, reward_id):
    return _reward_form(request, _own(Reward, request.creator, reward_id, "reward"))


@require_POST
@manage
def redemption_used(request, redemption_id):
    try:
        redemption = services.mark_redemption_used(creator=request.creator, redemption_id=redemption_id,
                                                   actor=request.user)
    except ServiceError as exc:
        if exc.status == 404:
            raise Http404(exc.detail) from exc
        messages.error(request, exc.detail)
    else:
        messages.success(request, _("Code %(code)s marked as used.") % {"code": redemption.code})
    return redirect("dash-rewards")


# --- pass products ---------------------------------------------------------------------------

@manage
def passes(request):
    products = (PassProduct.objects.filter(creator=request.creator)
                .annotate(sold=Count("passes")).order_by("-is_active", "price"))
    return render(request, "memberships/dashboard/passes.html", {
        "products": products, "tab": "passes",
        "passes_in_use": Pass.objects.filter(creator=request.creator, credits_left__gt=0).count(),
    })


def _pass_form(request, product):
    form = PassProductForm(request.POST or None, initial=PassProductForm.initial_for(product) if product else None)
    if request.method == "POST" and form.is_valid():
        try:
            if product is None:
                saved = services.create_pass_product(creator=request.creator, actor=request.user, **form.cleaned_data)
            else:
                saved = services.update_pass_product(creator=request.creator, product_id=product.pk,
                                                     actor=request.user, **form.cleaned_data)
        except ServiceError as exc:
            form_errors(form, exc)
        else:
            messages.success(request, _("Pass “%(name)s” saved.") % {"name": saved.name})
            return redirect("dash-passes")
    return render(request, "memberships/dashboard/pass_form.html", {"form": form, "product": product,
                                                                    "tab": "passes"}, status=_status(form))


@manage
def pass_new(request):
    return _pass_form(request, None)


@manage
def pass_edit(request, product_id):
    return _pass_form(request, _own(PassProduct, request.creator, product_id, "pass"))
