"""The creator's money pages (balance, ledger, disputes, tips, payouts) and the tip form of the watch page."""
import uuid

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.shortcuts import redirect, render
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_POST
from django.utils.translation import gettext as _

from microstage.errors import ServiceError
from microstage.models import EDIT_ROLES
from microstage.money import format_money
from microstage.views import team_page

from commerce import services

from . import connect, money
from . import services as payouts
from .models import PayoutProfile

TIP_CHOICES = ("2.00", "5.00", "10.00", "20.00")


@team_page(roles=EDIT_ROLES)
def money_page(request):
    creator = request.creator
    all_balances = money.balances(creator.pk)
    currencies = [b.currency for b in all_balances] or [settings.DEFAULT_CURRENCY]
    currency = request.GET.get("currency", "").upper()
    currency = currency if currency in currencies else currencies[0]
    days = money.net_by_day(creator.pk, currency)
    return render(request, "commerce/money.html", {
        "balance": money.balance(creator.pk, currency), "balances": all_balances, "currency": currency,
        "days": days, "chart": {"labels": [d.isoformat() for d, _ in days], "net": [str(v) for _, v in days],
                                "currency": currency},
        "entries": money.ledger_entries(creator.pk), "disputes": list(money.open_disputes(creator.pk)),
        "tips": money.tips_for(creator.pk, limit=20), "can_pay_out": request.user.is_staff,
        "payout_key": uuid.uuid4().hex, "fee_percent": settings.PLATFORM_FEE_PERCENT,
        "split": payouts.split(creator.pk, currency), "next_payout": payouts.next_payout(creator.pk, currency),
        "payouts": payouts.payouts_for(creator.pk)[:20], "profile": payouts.profile(creator.pk),
        "schedules": PayoutProfile.Schedule.choices, "connect": connect.status_of(creator),
        "is_owner": request.role == "owner", "settling_hours": settings.PAYOUT_SETTLING_HOURS,
    })


@require_POST
@team_page(roles=EDIT_ROLES)
def payout_record(request):
    if not request.user.is_staff:
        messages.error(request, _("Only Microstage staff record payouts."))
        return redirect("dash-money")
    try:
        entry = money.record_payout(creator_id=request.creator.pk, amount=request.POST.get("amount", ""),
                                    currency=request.POST.get("currency", ""), key=request.POST.get("key", ""),
                                    note=request.POST.get("note", "")[:255])
    except ServiceError as exc:
        messages.error(request, exc.detail)
    except (TypeError, ValueError, ArithmeticError):
        messages.error(request, _("Enter an amount, e.g. 120.00."))
    else:
        messages.success(request, _("Payout of %(amount)s recorded.")
                         % {"amount": format_money(-entry.amount, entry.currency)})
    return redirect("dash-money")


@require_POST
@login_required
def tip(request, creator_id: str):
    """Tip form of the watch page: an order with one tip line, then the provider's (or sandbox) checkout."""
    back = request.POST.get("next", "")
    if not url_has_allowed_host_and_scheme(back, allowed_hosts={request.get_host()},
                                           require_https=request.is_secure()) or not back.startswith("/"):
        back = "/"
    amount = request.POST.get("amount", "")
    if amount == "custom":
        amount = request.POST.get("custom_amount", "").replace(",", ".")
    try:
        order = money.create_tip_order(user=request.user, creator_id=creator_id, amount=amount,
                                       currency=request.POST.get("currency", ""),
                                       event_id=request.POST.get("event", ""), message=request.POST.get("message", ""))
        sep = "&" if "?" in back else "?"
        result = services.checkout(order.pk, success_url=request.build_absolute_uri(f"{back}{sep}tipped={order.pk}"),
                                   cancel_url=request.build_absolute_uri(back))
    except ServiceError as exc:
        messages.error(request, _("Your tip did not go through: %(problem)s") % {"problem": exc.detail})
        return redirect(f"{back}#tip")
    return redirect(result.checkout_url or f"{back}?tipped={order.pk}")
