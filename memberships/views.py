"""Fan pages for memberships: a creator's plans (join, buy a pass), my memberships (cancel, resume),
my points and rewards (referral links, redeem), my passes."""
from decimal import Decimal

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.contrib.auth.views import redirect_to_login
from django.db.models import Q
from django.http import Http404
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.formats import date_format
from django.views.decorators.http import require_POST
from django.utils.translation import gettext as _

from commerce import services as commerce
from microstage.errors import ServiceError
from microstage.models import Creator

from . import selectors, services
from .models import Membership, Pass, PassProduct, Reward, RewardRedemption

CENT = Decimal("0.01")


def _plans_url(creator: Creator) -> str:
    return reverse("creator-membership", args=[creator.slug])


# --- a creator's plans page --------------------------------------------------------------------

def plans_page(request, slug):
    creator = get_object_or_404(Creator, slug=slug)
    plans = list(selectors.plans_of(creator.pk).order_by("interval", "price"))
    for plan in plans:
        plan.per_month = (plan.price / 12).quantize(CENT) if plan.interval == "year" else plan.price
    products = list(PassProduct.objects.filter(creator=creator, is_active=True).order_by("price"))
    for product in products:
        product.per_show = (product.price / product.credits).quantize(CENT)
    membership = None
    passes = []
    if request.user.is_authenticated:
        membership = (Membership.objects.filter(user=request.user, creator=creator)
                      .exclude(status=Membership.Status.ENDED).select_related("plan").first())
        passes = list(selectors.usable_passes(request.user, creator.pk).select_related("product"))
    return render(request, "memberships/plans.html", {
        "creator": creator, "plans": plans, "membership": membership,
        "live": selectors.live_membership(request.user, creator.pk),
        "pass_products": products,
        "my_passes": passes,
    })


@require_POST
def join(request, slug):
    creator = get_object_or_404(Creator, slug=slug)
    back = _plans_url(creator)
    if not request.user.is_authenticated:
        messages.info(request, _("Log in or sign up to join — you will come back to this page."))
        return redirect_to_login(back)
    plan_id = (request.POST.get("plan") or "").strip()[:40]
    if not selectors.plans_of(creator.pk).filter(pk=plan_id).exists():
        messages.error(request, _("That plan is not open to new members. Choose one of the plans below."))
        return redirect(back)
    try:
        result = services.subscribe(user=request.user, plan_id=plan_id,
                                    success_url=request.build_absolute_uri(reverse("my-memberships")),
                                    cancel_url=request.build_absolute_uri(back))
    except ServiceError as exc:
        if exc.code == "already_member":
            messages.info(request, _("You are already a member of %(creator)s. "
                                     "Your membership is under “My memberships”.") % {"creator": creator.name})
            return redirect("my-memberships")
        messages.error(request, _("%(problem)s You were not charged.") % {"problem": exc.detail})
        return redirect(back)
    if result.checkout_url:
        return redirect(result.checkout_url)
    if result.status == "active":
        messages.success(request, _("Welcome to %(plan)s! Your perks with %(creator)s apply from now on.")
                         % {"plan": result.membership.plan.name, "creator": creator.name})
    else:
        messages.info(request, _("Your membership starts as soon as the first payment goes through."))
    return redirect("my-memberships")


@require_POST
def buy_pass(request, slug, product_id):
    creator = get_object_or_404(Creator, slug=slug)
    back = _plans_url(creator) + "#passes"
    if not request.user.is_authenticated:
        messages.info(request, _("Log in or sign up to buy a pass — you will come back to this page."))
        return redirect_to_login(back)
    if not PassProduct.objects.filter(pk=product_id, creator=creator, is_active=True).exists():
        messages.error(request, _("That pass is not on sale. Nothing was reserved."))
        return redirect(back)
    try:
        order = commerce.reserve(requests=[commerce.LineRequest(services.PASS_KIND, product_id, 1)], buyer=request.user,
                                 email=request.user.email)
    except ServiceError as exc:
        messages.error(request, _("%(problem)s Nothing was reserved.") % {"problem": exc.detail})
        return redirect(back)
    return redirect(order.get_absolute_url())


# --- my memberships ----------------------------------------------------------------------------

@login_required
def my_memberships(request):
    memberships = list(selectors.memberships_of(request.user))
    now = timezone.now()
    for m in memberships:
        m.resumable = (m.status == Membership.Status.CANCELLED and m.current_period_end is not None
                       and m.current_period_end > now)
        m.cancellable = m.status in (Membership.Status.ACTIVE, Membership.Status.PAST_DUE, Membership.Status.PENDING)
    current = [m for m in memberships if m.status != Membership.Status.ENDED]
    past = [m for m in memberships if m.status == Membership.Status.ENDED]
    return render(request, "memberships/my_memberships.html", {"current": current, "past": past[:50],
                                                               "tab": "memberships"})


def _my_membership(request, membership_id) -> Membership:
    membership = (Membership.objects.select_related("plan", "creator")
                  .filter(pk=membership_id, user=request.user).first())
    if membership is None:
        raise Http404("No such membership.")
    return membership


@login_required
def cancel(request, membership_id):
    """GET: what cancelling means, with a confirm button. POST: cancel at the end of the paid period."""
    membership = _my_membership(request, membership_id)
    if request.method == "POST":
        try:
            membership = services.cancel_membership(user=request.user, membership_id=membership.pk)
        except ServiceError as exc:
            messages.error(request, exc.detail)
        else:
            if membership.status == Membership.Status.ENDED:
                messages.success(request, _("Your %(plan)s membership is cancelled.")
                                 % {"plan": membership.plan.name})
            else:
                until = date_format(timezone.localtime(membership.current_period_end), "j F Y") \
                    if membership.current_period_end else _("the end of the paid period")
                messages.success(request, _("Cancelled. Your perks with %(creator)s stay until %(until)s; "
                                            "you will not be charged again.")
                                 % {"creator": membership.creator.name, "until": until})
        return redirect("my-memberships")
    if membership.status not in (Membership.Status.ACTIVE, Membership.Status.PAST_DUE, Membership.Status.PENDING):
        messages.info(request, _("This membership is not renewing, so there is nothing to cancel."))
        return redirect("my-memberships")
    return render(request, "memberships/cancel.html", {"membership": membership, "tab": "memberships"})


@require_POST
@login_required
def resume(request, membership_id):
    membership = _my_membership(request, membership_id)
    try:
        membership = services.resume_membership(user=request.user, membership_id=membership.pk)
    except ServiceError as exc:
        messages.error(request, exc.detail)
    else:
        messages.success(request, _("Resumed: your %(plan)s membership renews again.")
                         % {"plan": membership.plan.name})
    return redirect("my-memberships")


# --- my points and rewards ---------------------------------------------------------------------

def _fan_creators(user) -> list[Creator]:
    """Creators the fan has points with or is (or was) a member of."""
    return list(Creator.objects.filter(Q(loyalty_accounts__user=user) | Q(memberships__user=user))
                .distinct().order_by("name"))


@login_required
def my_points(request):
    user = request.user
    creators = _fan_creators(user)
    loyalty = selectors.loyalty_of(user)
    accounts = {a.creator_id: a for a in loyalty["accounts"]}
    rewards = {}
    for reward in (Reward.objects.filter(creator__in=creators, is_active=True).order_by("cost_points")):
        rewards.setdefault(reward.creator_id, []).append(reward)
    groups = []
    for creator in creators:
        account = accounts.get(creator.pk)
        balance = account.balance if account else 0
        code = account.referral_code if account else services.referral_code(user, creator.pk)
        for reward in rewards.get(creator.pk, []):
            reward.affordable = balance >= reward.cost_points
            reward.shortfall = max(0, reward.cost_points - balance)
        groups.append({"creator": creator, "balance": balance, "rewards": rewards.get(creator.pk, []),
                       "referral_url": settings.SITE_URL + reverse("referral-link", args=[code])})
    codes = (RewardRedemption.objects.filter(account__user=user).select_related("reward", "reward__creator")
             .order_by("status", "-created_at")[:100])
    return render(request, "memberships/my_points.html", {
        "groups": groups, "entries": loyalty["entries"][:50], "codes": codes, "tab": "points",
    })


@login_required
def redeem(request, reward_id):
    """GET: confirm spending the points. POST: redeem (points and stock go down once, under locks)."""
    reward = Reward.objects.select_related("creator").filter(pk=reward_id, is_active=True).first()
    if reward is None:
        raise Http404("No such reward.")
    if request.method == "POST":
        try:
            redemption = services.redeem_reward(user=request.user, reward_id=reward.pk)
        except ServiceError as exc:
            if exc.code == "out_of_stock":
                messages.error(request, _("Sorry — “%(reward)s” is gone. Your points were not spent.")
                               % {"reward": reward.name})
            elif exc.code == "not_enough_points":
                messages.error(request, _("%(problem)s Your points were not spent.") % {"problem": exc.detail})
            else:
                messages.error(request, exc.detail)
        else:
            messages.success(request, _("Redeemed “%(reward)s”. Your code is %(code)s — it is listed "
                                        "under “Your codes”.") % {"reward": reward.name, "code": redemption.code})
        return redirect(reverse("my-points") + "#codes")
    account = selectors.loyalty_of(request.user, reward.creator_id)
    balance = account["balance"]
    return render(request, "memberships/redeem.html", {"reward": reward, "balance": balance,
                                                       "after": balance - reward.cost_points, "tab": "points"})


# --- my passes ---------------------------------------------------------------------------------

@login_required
def my_passes(request):
    now = timezone.now()
    passes = list(Pass.objects.filter(user=request.user).select_related("product", "creator")
                  .order_by("-expires_at")[:100])
    usable = [p for p in passes if p.credits_left > 0 and p.expires_at > now]
    done = [p for p in passes if p not in usable]
    return render(request, "memberships/my_passes.html", {"usable": usable, "done": done, "tab": "passes"})
