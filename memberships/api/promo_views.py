"""API for creator promo and partner codes (owners and managers; outsiders 404, other roles 403)."""
from django.utils.translation import gettext as _

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import status
from rest_framework.response import Response
from rest_framework.views import APIView

from memberships import promos
from memberships.models import PromoCode
from microstage.errors import Invalid
from microstage.models import EDIT_ROLES
from microstage.permissions import require_role


def promo_data(promo: PromoCode) -> dict:
    return {"id": promo.pk, "code": promo.code, "kind": promo.kind, "partner": promo.partner,
            "percent_off": f"{promo.percent_off:.2f}" if promo.percent_off is not None else None,
            "amount_off": f"{promo.amount_off:.2f}" if promo.amount_off is not None else None,
            "currency": promo.currency or None, "max_uses": promo.max_uses, "uses": promo.uses.count(),
            "valid_from": promo.valid_from.isoformat() if promo.valid_from else None,
            "valid_until": promo.valid_until.isoformat() if promo.valid_until else None,
            "tier_ids": promo.tier_ids, "product_ids": promo.product_ids, "is_active": promo.is_active}


class CreatorPromoCodesView(APIView):
    @extend_schema(responses={200: OpenApiResponse(description="{results: [code], next}")},
                   summary="A creator's promo and partner codes with their sales")
    def get(self, request, creator_id):
        creator = require_role(request.user, creator_id, EDIT_ROLES)
        rows = promos.sales_by_code(creator.pk)
        return Response({"results": [{**promo_data(r["promo"]), "sales": {
            "orders": r["orders"], "units": r["units"], "revenue": f"{r['revenue']:.2f}",
            "discount": f"{r['discount']:.2f}"}} for r in rows], "next": None})

    @extend_schema(request=OpenApiTypes.OBJECT,
                   responses={201: OpenApiResponse(description="the code"),
                              400: OpenApiResponse(description="invalid, with fields")},
                   summary="Make a promo or partner code: code, percent_off or amount_off (+ currency), kind?, "
                           "partner?, max_uses?, valid_from?, valid_until?, tier_ids?, product_ids?")
    def post(self, request, creator_id):
        creator = require_role(request.user, creator_id, EDIT_ROLES)
        if not isinstance(request.data, dict):
            raise Invalid(_("Send a JSON object."))
        promo = promos.create_promo_code(creator=creator, actor=request.user, **dict(request.data.items()))
        return Response(promo_data(promo), status=status.HTTP_201_CREATED)
