"""API views for waiting lists and bundles (API.md "Waiting list", "Bundles"): thin, services decide.

Joining a list twice answers 200 with the entry already there (same id and place) rather than a
409: a client that retries a timed-out POST keeps its place and learns it is in line.
"""
from django.utils.translation import gettext as _
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import serializers, status
from rest_framework.response import Response
from rest_framework.views import APIView

from events import bundles, waitlist
from events.models import Bundle
from microstage.api.views import parse
from microstage.errors import NotFound
from microstage.models import Creator
from microstage.selectors import role_of


class JoinInSerializer(serializers.Serializer):
    quantity = serializers.IntegerField(min_value=1, max_value=100, required=False, default=1)


class EntrySerializer(serializers.Serializer):
    id = serializers.CharField()
    tier = serializers.CharField(source="tier_id")
    event = serializers.CharField(source="tier.event_id")
    quantity = serializers.IntegerField()
    status = serializers.SerializerMethodField()
    position = serializers.SerializerMethodField()
    offer_expires_at = serializers.DateTimeField(allow_null=True)
    order = serializers.CharField(source="order_id", allow_null=True)
    created_at = serializers.DateTimeField()

    def get_status(self, entry) -> str:
        return waitlist.display_status(entry)

    def get_position(self, entry) -> int | None:
        return waitlist.position_of(entry)


class EntryPageSerializer(serializers.Serializer):
    results = EntrySerializer(many=True)
    next = serializers.CharField(allow_null=True)


class TierWaitlistView(APIView):
    @extend_schema(request=JoinInSerializer, responses={201: EntrySerializer, 200: EntrySerializer,
                                                        409: OpenApiResponse(description="not_sold_out")},
                   summary="Join a sold-out tier's waiting list (again: the entry already there, 200)")
    def post(self, request, tier_id):
        data = parse(JoinInSerializer, request)
        entry, created = waitlist.join(tier_id=tier_id, user=request.user, quantity=data["quantity"])
        entry = waitlist.entries_of(request.user).get(pk=entry.pk)
        return Response(EntrySerializer(entry).data, status=status.HTTP_201_CREATED if created else status.HTTP_200_OK)


class MyWaitlistView(APIView):
    @extend_schema(responses=EntryPageSerializer, summary="The caller's waiting-list entries")
    def get(self, request):
        from microstage.api.pagination import Pagination

        paginator = Pagination()
        page = paginator.paginate_queryset(waitlist.entries_of(request.user), request, view=self)
        return paginator.get_paginated_response(EntrySerializer(page, many=True).data)


class WaitlistEntryView(APIView):
    @extend_schema(responses={204: None}, summary="Leave a waiting list (a standing offer is given up)")
    def delete(self, request, entry_id):
        waitlist.leave(entry_id=entry_id, user=request.user)
        return Response(status=status.HTTP_204_NO_CONTENT)


# --- bundles -------------------------------------------------------------------------------------

class BundleInSerializer(serializers.Serializer):
    creator = serializers.CharField(max_length=40)
    name = serializers.CharField(max_length=120)
    description = serializers.CharField(max_length=500, required=False, allow_blank=True, default="")
    price = serializers.DecimalField(max_digits=8, decimal_places=2, min_value=0)
    currency = serializers.CharField(max_length=3, min_length=3, required=False, allow_blank=True, default="")
    credit = serializers.DecimalField(max_digits=8, decimal_places=2, min_value=0, required=False, default=0)
    max_per_order = serializers.IntegerField(min_value=1, max_value=20, required=False, default=4)
    items = serializers.ListField(child=serializers.DictField(), min_length=1, max_length=bundles.MAX_ITEMS)


class BundleSerializer(serializers.Serializer):
    id = serializers.CharField()
    creator = serializers.CharField(source="creator_id")
    name = serializers.CharField()
    description = serializers.CharField()
    price = serializers.DecimalField(max_digits=10, decimal_places=2)
    currency = serializers.CharField()
    credit = serializers.DecimalField(max_digits=10, decimal_places=2)
    max_per_order = serializers.IntegerField()
    is_active = serializers.BooleanField()
    available = serializers.SerializerMethodField()
    items = serializers.SerializerMethodField()

    def get_available(self, bundle) -> int:
        return bundles.available(bundle)

    def get_items(self, bundle) -> list[dict]:
        return bundles.describe_items(bundle)


class BundleListView(APIView):
    @extend_schema(request=BundleInSerializer, responses={201: BundleSerializer},
                   summary="Create a bundle: tickets plus goods plus store credit, sold as one (team)")
    def post(self, request):
        data = parse(BundleInSerializer, request)
        creator = Creator.objects.filter(pk=data["creator"]).first()
        if creator is None or role_of(request.user, creator.pk) is None:
            raise NotFound(_("No such creator."))
        bundle = bundles.create_bundle(
            creator=creator, name=data["name"], description=data["description"], price=data["price"],
            currency=data["currency"], credit_amount=data["credit"], max_per_order=data["max_per_order"],
            items=data["items"], actor=request.user)
        return Response(BundleSerializer(bundle).data, status=status.HTTP_201_CREATED)


class BundleDetailView(APIView):
    permission_classes: list = []

    @extend_schema(responses=BundleSerializer, summary="A bundle with what is left of it")
    def get(self, request, bundle_id):
        bundle = Bundle.objects.filter(pk=bundle_id).first()
        if bundle is None or (not bundle.is_active and role_of(request.user, bundle.creator_id) is None):
            raise NotFound(_("No such bundle."))
        return Response(BundleSerializer(bundle).data)
