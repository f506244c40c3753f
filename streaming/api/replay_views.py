"""API: buy an event's replay alone (signed in, or a guest with an email address)."""
from django.utils.translation import gettext_lazy as _
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import serializers, status
from rest_framework.permissions import AllowAny
from rest_framework.response import Response
from rest_framework.views import APIView

from commerce import gate, services
from commerce.api.serializers import OrderSerializer
from microstage.api.views import parse

from .. import replays


class PurchaseInSerializer(serializers.Serializer):
    email = serializers.EmailField(max_length=254, required=False, allow_blank=True,
                                   help_text=_("Required for guests: the replay follows this (verified) address."))


class ReplayPurchaseView(APIView):
    """Reserve an order of the replay and start its checkout; the buyer's playback is allowed once it is paid."""

    permission_classes = [AllowAny]

    @extend_schema(request=PurchaseInSerializer,
                   responses={201: OpenApiResponse(description="The order, with `payment` {provider, checkout_url}"),
                              404: OpenApiResponse(description="No replay for sale"),
                              409: OpenApiResponse(description="already_owned")})
    def post(self, request, event_id):
        data = parse(PurchaseInSerializer, request)
        order = replays.buy(kind=replays.REPLAY_KIND, item_id=event_id, user=request.user,
                            email=data.get("email") or "")
        result = services.checkout(order.pk, ip=gate.client_ip(request))
        body = dict(OrderSerializer(result.order).data)
        if result.checkout_url:
            url = result.checkout_url
            body["payment"] = {"provider": result.provider,
                               "checkout_url": request.build_absolute_uri(url) if url.startswith("/") else url}
        return Response(body, status=status.HTTP_201_CREATED)
