"""API views for orders (thin: parse, call one commerce service or selector, answer).

Who may do what, as API.md fixes it:
- anyone logged in may reserve (401 otherwise);
- an order is seen by its buyer and by the creator's owners/managers; anyone else gets 404;
- only the buyer pays or cancels it (the creator's team sees it, so it gets 403);
- only the creator's owners/managers refund it (the buyer sees it, so they get 403).

Unknown ids are 404 with code "not_found", in paths and in bodies alike (a creator, a tier, a drop
or a product the caller names but that does not exist or is not for sale publicly) — the same
answer as for someone else's object, so ids cannot be probed. Lines naming a kind nothing sells yet
(drops and products, until their issues land) are 404 for the same reason. Malformed bodies, wrong
types and out-of-range quantities are 400 "invalid" with the field named. Reservation refusals are
409: sold_out, not_on_sale, limit_exceeded, members_only; a lapsed hold answers checkout with 409
expired.
"""
from drf_spectacular.utils import OpenApiResponse, extend_schema
from django.conf import settings
from django.utils.translation import gettext
from django.utils.translation import gettext as _
from rest_framework import status
from rest_framework.response import Response
from rest_framework.views import APIView

from commerce import gate, selectors, sellables, services
from commerce.models import Order
from microstage.api.views import parse
from microstage.errors import Forbidden, NotFound

from . import serializers as s


def _order(user, order_id: str) -> tuple[Order, bool]:
    return selectors.order_for(order_id, user)


def _buyers_order(user, order_id: str) -> Order:
    order, _ = _order(user, order_id)
    if order.buyer_id != user.pk:
        raise Forbidden(gettext("Only the buyer can pay for or cancel this order."))
    return order


def line_requests(data: dict) -> list[services.LineRequest]:
    """A valid OrderInSerializer's lines as the reservation asks for them; 404 for a kind nothing sells."""
    for line in data["lines"]:
        if sellables.get(line["kind"]) is None:
            raise NotFound(gettext("No such %(field)s: %(id)s.") % {"field": line["field"], "id": line["item_id"]})
    return [services.LineRequest(ln["kind"], ln["item_id"], ln["quantity"], ln["options"]) for ln in data["lines"]]


def _status(order: Order) -> dict:
    return s.OrderStatusSerializer(order).data


class OrderListView(APIView):
    @extend_schema(request=s.OrderInSerializer, responses={201: s.OrderSerializer},
                   summary="Reserve: hold stock for a new order until expires_at")
    def post(self, request):
        data = parse(s.OrderInSerializer, request)
        order = services.reserve(
            requests=line_requests(data), buyer=request.user, email=data.get("email") or "",
            variant_prices=getattr(request, "variant_prices", None))  # the visitor's experiment prices
        order = selectors.with_lines(order)  # the buyer's own new order, answered from the rows in hand
        return Response(s.OrderSerializer(order).data, status=status.HTTP_201_CREATED)


class OrderDetailView(APIView):
    @extend_schema(responses=s.OrderSerializer, summary="An order, for its buyer or the creator's team")
    def get(self, request, order_id):
        order, _ = _order(request.user, order_id)
        return Response(s.OrderSerializer(order).data)


class OrderCheckoutView(APIView):
    @extend_schema(request=None, responses={200: s.CheckoutOutSerializer,
                                            409: OpenApiResponse(description="expired, risk_refused")},
                   summary="Pay: zero totals are paid at once, otherwise a hosted checkout starts")
    def post(self, request, order_id):
        order = _buyers_order(request.user, order_id)
        result = services.checkout(order.pk, ip=gate.client_ip(request))
        body = {"id": result.order.pk, "status": result.order.status, "total": result.order.total,
                "currency": result.order.currency}
        if result.checkout_url:
            url = result.checkout_url  # the sandbox's page is a path on this site: make it absolute
            body["payment"] = {"provider": result.provider,
                               "checkout_url": request.build_absolute_uri(url) if url.startswith("/") else url}
        return Response(s.CheckoutOutSerializer(body).data)


class OrderSandboxPayView(APIView):
    @extend_schema(request=None, responses={200: s.OrderStatusSerializer},
                   summary="Sandbox only: complete the payment the way a provider confirmation does")
    def post(self, request, order_id):
        order = _buyers_order(request.user, order_id)
        return Response(_status(services.sandbox_pay(order.pk)))


class OrderCancelView(APIView):
    @extend_schema(request=None, responses={200: s.OrderStatusSerializer},
                   summary="Give up an unpaid order; its stock is free at once")
    def post(self, request, order_id):
        order = _buyers_order(request.user, order_id)
        return Response(_status(services.cancel(order.pk, actor=request.user)))


class OrderRefundView(APIView):
    @extend_schema(request=s.RefundInSerializer, responses={200: s.OrderStatusSerializer},
                   summary="Refund a paid order, whole or some lines (creator team)")
    def post(self, request, order_id):
        order, is_team = _order(request.user, order_id)
        if not is_team:
            raise Forbidden(_("Only the creator's team can refund an order."))
        data = parse(s.RefundInSerializer, request)
        return Response(_status(services.refund(order.pk, actor=request.user, line_ids=data.get("lines"),
                                                        reason=data["reason"])))


class MyCreditView(APIView):
    @extend_schema(responses={200: s.CreditOutSerializer}, summary="The caller's store credit with a creator",
                   parameters=[s.CreditQuerySerializer])
    def get(self, request):
        from commerce import credit
        from microstage.models import Creator

        query = s.CreditQuerySerializer(data=request.query_params)
        query.is_valid(raise_exception=True)
        creator_ref = query.validated_data["creator"]
        creator = Creator.objects.filter(pk=creator_ref).first() or Creator.objects.filter(slug=creator_ref).first()
        if creator is None:
            raise NotFound(_("No such creator."))
        currency = (query.validated_data.get("currency") or "").upper()
        if not currency:
            held = [b for b in credit.balances_of(request.user) if b["creator_id"] == creator.pk]
            currency = held[0]["currency"] if held else settings.DEFAULT_CURRENCY
        return Response({"creator": creator.pk, "balance": f"{credit.balance(request.user, creator.pk, currency):.2f}",
                         "currency": currency})
