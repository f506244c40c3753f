"""The creator's payout pages: schedule, statements (printable and CSV) and Stripe Connect onboarding."""

from django.conf import settings
from django.contrib import messages
from django.http import Http404
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_POST
from django.utils.translation import pgettext
from django.utils.translation import gettext as _

from microstage import csvfile
from microstage.errors import ServiceError
from microstage.models import EDIT_ROLES, Role
from microstage.views import team_page

from . import connect
from . import services as payouts


@require_POST
@team_page(roles=EDIT_ROLES)
def schedule(request):
    try:
        payouts.set_schedule(request.creator.pk, request.POST.get("schedule", ""), actor=request.user)
    except ServiceError as exc:
        messages.error(request, exc.detail)
    else:
        messages.success(request, _("Payout schedule saved."))
    return redirect(reverse("dash-money") + "#payouts")


def _statement(request, payout_id):
    payout = payouts.payout_for_team(request.creator.pk, payout_id)
    if payout is None:
        raise Http404("No such payout.")
    return payout, payouts.statement(payout)


@team_page(roles=EDIT_ROLES)
def statement_page(request, payout_id):
    payout, rows = _statement(request, payout_id)
    return render(request, "commerce/payout_statement.html", {"payout": payout, "rows": rows,
                                                              "creator": request.creator})


@team_page(roles=EDIT_ROLES)
def statement_csv(request, payout_id):
    payout, rows = _statement(request, payout_id)

    def lines():
        yield [pgettext("CSV column", "date"), pgettext("CSV column", "type"), pgettext("CSV column", "description"),
               pgettext("CSV column", "order"), pgettext("CSV column", "amount"), pgettext("CSV column", "currency")]
        for row in rows:
            yield [row["created_at"], row["label"], row["note"], row["order"], row["amount"], row["currency"]]
        yield [payout.created_at, _("Total paid out"), payout.get_status_display(), "", payout.amount,
               payout.currency]

    return csvfile.response(request, lines(), csvfile.filename("payout", payout.pk, stamp=False))


def _owner_only(request) -> bool:
    if request.role != Role.OWNER:
        messages.error(request, _("Only the owner connects the payout account."))
        return False
    return True


@require_POST
@team_page(roles=EDIT_ROLES)
def connect_start(request):
    if not _owner_only(request):
        return redirect(reverse("dash-money") + "#payout-account")
    try:
        url = connect.start_onboarding(
            request.creator, email=request.user.email,
            refresh_url=request.build_absolute_uri(reverse("dash-connect-refresh")),
            return_url=request.build_absolute_uri(reverse("dash-connect-return")), actor=request.user)
    except ServiceError as exc:
        messages.error(request, _("Stripe could not start the set-up: %(problem)s") % {"problem": exc.detail})
        return redirect(reverse("dash-money") + "#payout-account")
    return redirect(url)


@team_page(roles=EDIT_ROLES)
def connect_refresh(request):
    """Stripe's refresh_url: the link expired or was used; the owner starts again with a fresh one."""
    messages.info(request, _("That set-up link expired. Continue with a new one below."))
    return redirect("dash-connect-return")


@team_page(roles=EDIT_ROLES)
def connect_return(request):
    """Where Stripe sends the owner back: what works now and what Stripe still needs."""
    try:
        connect.refresh(request.creator, actor=request.user)
    except ServiceError as exc:
        messages.error(request, _("Could not ask Stripe for the account's status: %(problem)s")
                       % {"problem": exc.detail})
    request.creator.refresh_from_db()
    return render(request, "commerce/connect_return.html", {
        "status": connect.status_of(request.creator), "is_owner": request.role == Role.OWNER,
        "sandbox": settings.PAYMENTS_PROVIDER == "sandbox"})
