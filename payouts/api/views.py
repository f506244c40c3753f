"""API views of the creator's money: balance and payouts (team owners and managers; see API.md "Creator money")."""
from django.utils.translation import gettext as _

from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework.response import Response
from rest_framework.views import APIView

from payouts import services as payouts
from microstage.api.pagination import Pagination
from microstage.errors import Invalid
from microstage.models import EDIT_ROLES
from microstage.payments.money import normalise_currency
from microstage.permissions import require_role


def _money(value) -> str:
    return str(value.quantize(payouts.ZERO))


def _currency(request, creator_id: str) -> str:
    raw = request.query_params.get("currency")
    if not raw:
        return payouts.currency_of(creator_id)
    try:
        return normalise_currency(raw)
    except Invalid as exc:
        raise Invalid(exc.detail, fields={"currency": [_("Give a three-letter ISO 4217 code.")]}) from None


def payout_json(payout) -> dict:
    return {"id": payout.pk, "amount": _money(payout.amount), "currency": payout.currency, "status": payout.status,
            "method": payout.method, "schedule": payout.schedule, "created_at": payout.created_at.isoformat(),
            "expected_at": payout.expected_at.isoformat() if payout.expected_at else None,
            "paid_at": payout.paid_at.isoformat() if payout.paid_at else None,
            "failure_reason": payout.failure_reason or None,
            "lines": [{"type": r["type"], "label": r["label"], "amount": _money(r["amount"]),
                       "currency": r["currency"], "order": r["order"] or None, "note": r["note"],
                       "created_at": r["created_at"].isoformat()} for r in payouts.statement(payout)]}


CURRENCY = OpenApiParameter("currency", str, description="ISO 4217; the creator's main currency by default")


class CreatorBalanceView(APIView):
    @extend_schema(parameters=[CURRENCY], summary="The creator's balance: pending, available and held, net of fees",
                   responses={200: OpenApiResponse(description="{currency, pending, available, held}"),
                              403: OpenApiResponse(description="Role not owner/manager"),
                              404: OpenApiResponse(description="Not on the creator's team")})
    def get(self, request, creator_id):
        creator = require_role(request.user, creator_id, EDIT_ROLES)
        split = payouts.split(creator.pk, _currency(request, creator.pk))
        return Response({"currency": split.currency, "pending": _money(split.pending),
                         "available": _money(split.available), "held": _money(split.held)})


class CreatorPayoutsView(APIView):
    @extend_schema(parameters=[CURRENCY], summary="The creator's payout schedule, next payout and past payouts",
                   responses={200: OpenApiResponse(description="{schedule, next_payout, results, next}")})
    def get(self, request, creator_id):
        creator = require_role(request.user, creator_id, EDIT_ROLES)
        currency = _currency(request, creator.pk)
        upcoming = payouts.next_payout(creator.pk, currency)
        paginator = Pagination()
        page = paginator.paginate_queryset(payouts.payouts_for(creator.pk), request, view=self)
        return Response({"schedule": payouts.profile(creator.pk).schedule,
                         "next_payout": {"amount": _money(upcoming["amount"]), "currency": upcoming["currency"],
                                         "expected_at": upcoming["expected_at"].isoformat()} if upcoming else None,
                         "results": [payout_json(p) for p in page], "next": paginator.get_next_link()})
