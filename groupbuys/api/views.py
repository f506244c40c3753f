"""API views for group-buys (API.md "Products, drops and group-buys"): create, get, join, settle.

Thin: parse, call one groupbuys service, answer. Who may do what:
- create: the creator's owners/managers (others on the team 403, strangers 404);
- get: anyone (a public progress figure, like the page /g/<id>/);
- join: anyone logged in (401 otherwise); over the cap 409 sold_out, after the deadline 409 closed;
- settle: the creator's owners/managers; a participant 403, anyone else 404; before the deadline
  409 too_early; idempotent (a settled group-buy answers with its state again).
Bad input is 400 "invalid" with the field named, and creates nothing.
"""
from django.utils.translation import gettext as _

from drf_spectacular.utils import extend_schema
from rest_framework import serializers, status
from rest_framework.permissions import AllowAny
from rest_framework.response import Response
from rest_framework.views import APIView

from groupbuys import services as groupbuys
from groupbuys import settlement as groupbuy_settlement
from groupbuys.models import GroupBuy
from microstage.api.views import parse
from microstage.errors import NotFound
from microstage.api.fields import AwareDateTimeField

ID = 40


class GroupBuyTierInSerializer(serializers.Serializer):
    min_quantity = serializers.IntegerField(min_value=1, max_value=groupbuys.MAX_CAP)
    price = serializers.DecimalField(max_digits=10, decimal_places=2, min_value=0)


class GroupBuyInSerializer(serializers.Serializer):
    creator = serializers.CharField(max_length=ID)
    product = serializers.CharField(max_length=ID)
    variant = serializers.CharField(max_length=ID, required=False, allow_blank=True, default="")
    event = serializers.CharField(max_length=ID, required=False, allow_blank=True, default="")
    title = serializers.CharField(max_length=120, required=False, allow_blank=True, default="")
    deadline = AwareDateTimeField()
    price_tiers = GroupBuyTierInSerializer(many=True, min_length=1, max_length=groupbuys.MAX_TIERS)
    max_quantity = serializers.IntegerField(min_value=1, max_value=groupbuys.MAX_CAP, required=False,
                                            allow_null=True, default=None)


class JoinInSerializer(serializers.Serializer):
    quantity = serializers.IntegerField(min_value=1, max_value=groupbuys.MAX_JOIN_QUANTITY)
    payment_method = serializers.CharField(max_length=255, required=False, allow_blank=True, default="",
                                           help_text="A provider payment method to authorise (optional).")


class GroupBuyTierOutSerializer(serializers.Serializer):
    min_quantity = serializers.IntegerField()
    price = serializers.DecimalField(max_digits=10, decimal_places=2)


class GroupBuyOutSerializer(serializers.Serializer):
    id = serializers.CharField()
    creator = serializers.CharField()
    product = serializers.CharField()
    event = serializers.CharField(allow_null=True)
    title = serializers.CharField()
    status = serializers.CharField()
    outcome = serializers.ChoiceField(choices=GroupBuy.Outcome.values, allow_null=True)
    currency = serializers.CharField()
    list_price = serializers.DecimalField(max_digits=10, decimal_places=2)
    committed_quantity = serializers.IntegerField()
    current_price = serializers.DecimalField(max_digits=10, decimal_places=2)
    final_price = serializers.DecimalField(max_digits=10, decimal_places=2, allow_null=True)
    next_tier = GroupBuyTierOutSerializer(allow_null=True)
    needed = serializers.IntegerField()
    max_quantity = serializers.IntegerField(allow_null=True)
    left = serializers.IntegerField(allow_null=True)
    deadline = AwareDateTimeField()
    price_tiers = GroupBuyTierOutSerializer(many=True)
    settled_at = AwareDateTimeField(allow_null=True)


class JoinOutSerializer(serializers.Serializer):
    participant = serializers.CharField()
    order = serializers.CharField()
    status = serializers.ChoiceField(choices=["authorized", "awaiting_payment"])
    payment = serializers.DictField(required=False)


def group_buy_data(gb: GroupBuy) -> dict:
    prog = groupbuys.progress(gb)
    return GroupBuyOutSerializer({
        "id": gb.pk, "creator": gb.creator_id, "product": gb.product_id, "event": gb.event_id or None,
        "title": str(gb), "status": gb.status, "outcome": gb.outcome, "currency": gb.currency,
        "list_price": groupbuys.list_price(gb),
        "committed_quantity": gb.committed_quantity, "current_price": prog.current_price,
        "final_price": gb.final_price, "next_tier": prog.next_tier, "needed": prog.needed,
        "max_quantity": gb.max_quantity, "left": prog.left, "deadline": gb.deadline,
        "price_tiers": groupbuys.tiers_of(gb), "settled_at": gb.settled_at,
    }).data


def _group_buy(group_buy_id: str) -> GroupBuy:
    gb = GroupBuy.objects.select_related("product", "variant", "variant__product").filter(pk=group_buy_id).first()
    if gb is None:
        raise NotFound(_("No such group-buy."))
    return gb


class GroupBuyListView(APIView):
    @extend_schema(request=GroupBuyInSerializer, responses={201: GroupBuyOutSerializer},
                   summary="Create a group-buy of one of the creator's products (team owners and managers)")
    def post(self, request):
        data = parse(GroupBuyInSerializer, request)
        gb = groupbuys.create_group_buy(
            actor=request.user, creator_id=data["creator"], product_id=data["product"], variant_id=data["variant"],
            event_id=data["event"], title=data["title"], deadline=data["deadline"],
            price_tiers=[dict(t) for t in data["price_tiers"]], max_quantity=data["max_quantity"])
        return Response(group_buy_data(_group_buy(gb.pk)), status=status.HTTP_201_CREATED)


class GroupBuyDetailView(APIView):
    permission_classes = [AllowAny]

    @extend_schema(responses=GroupBuyOutSerializer, summary="A group-buy's progress: status, price, next tier")
    def get(self, request, group_buy_id):
        return Response(group_buy_data(_group_buy(group_buy_id)))


class GroupBuyJoinView(APIView):
    @extend_schema(request=JoinInSerializer, responses={201: JoinOutSerializer},
                   summary="Join: money is authorised (or the card saved), not taken, until the deadline")
    def post(self, request, group_buy_id):
        data = parse(JoinInSerializer, request)
        result = groupbuys.join(group_buy_id=group_buy_id, user=request.user, quantity=data["quantity"],
                                payment_method=data["payment_method"],
                                variant_prices=getattr(request, "variant_prices", None))
        body = {"participant": result.participant.pk, "order": result.order.pk, "status": result.status}
        if result.payment is not None or result.client_secret:
            body["payment"] = {"id": result.payment.pk if result.payment else None,
                               "provider": result.payment.provider if result.payment else "",
                               "status": result.payment.status if result.payment else "pending",
                               "client_secret": result.client_secret, "checkout_url": result.checkout_url}
        return Response(body, status=status.HTTP_201_CREATED)


class GroupBuySettleView(APIView):
    @extend_schema(request=None, responses={200: GroupBuyOutSerializer},
                   summary="Settle after the deadline (team only; idempotent)")
    def post(self, request, group_buy_id):
        gb = groupbuy_settlement.settle_by_team(group_buy_id=group_buy_id, actor=request.user)
        return Response(group_buy_data(_group_buy(gb.pk)))
