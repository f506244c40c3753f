"""API views for memberships (thin: parse, call one service or selector, answer).

Who may do what: owners and managers of a creator make and change its plans (outsiders get 404, other
roles 403); anyone may read active plans; a logged-in fan subscribes, and sees, cancels and resumes only
their own memberships (anyone else's is 404).
"""
from django.utils.translation import gettext as _

from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import status
from rest_framework.permissions import AllowAny
from rest_framework.response import Response
from rest_framework.views import APIView

from memberships import selectors, services
from memberships.models import Membership, MembershipPlan
from microstage.api.pagination import Pagination
from microstage.api.views import parse
from microstage.errors import NotFound
from microstage.selectors import role_of

from . import serializers as s

PERK_FIELDS = ("early_access_hours", "discount_percent", "members_only_events", "clip_access", "replay_access")


def _plan_fields(data: dict) -> dict:
    fields = {k: v for k, v in data.items() if k not in ("creator", "perks")}
    fields.update({k: v for k, v in (data.get("perks") or {}).items() if k in PERK_FIELDS})
    return fields


def _visible_plan(user, plan_id: str) -> MembershipPlan:
    """Active plans for everyone; inactive ones only for the creator's team."""
    plan = MembershipPlan.objects.filter(pk=plan_id).first()
    if plan is None or (not plan.is_active and role_of(user, plan.creator_id) is None):
        raise NotFound(_("No such plan."))
    return plan


def _membership_data(membership: Membership) -> dict:
    return s.MembershipSerializer(membership).data


class PlanListView(APIView):
    @extend_schema(request=s.PlanInSerializer, responses={201: s.MembershipPlanSerializer},
                   summary="Create a membership plan (creator owners and managers)")
    def post(self, request):
        data = parse(s.PlanInSerializer, request)
        plan = services.create_plan(actor=request.user, creator=data["creator"], **_plan_fields(data))
        return Response(s.MembershipPlanSerializer(plan).data, status=status.HTTP_201_CREATED)


class PlanDetailView(APIView):
    def get_permissions(self):
        return [AllowAny()] if self.request.method == "GET" else super().get_permissions()

    @extend_schema(responses=s.MembershipPlanSerializer, summary="A plan and its perks (public while active)")
    def get(self, request, plan_id):
        return Response(s.MembershipPlanSerializer(_visible_plan(request.user, plan_id)).data)

    @extend_schema(request=s.PlanUpdateSerializer, responses=s.MembershipPlanSerializer,
                   summary="Change a plan; a new price applies to new members")
    def patch(self, request, plan_id):
        data = parse(s.PlanUpdateSerializer, request)
        plan = services.update_plan(actor=request.user, plan_id=plan_id, **_plan_fields(data))
        return Response(s.MembershipPlanSerializer(plan).data)


class CreatorPlansView(APIView):
    permission_classes = [AllowAny]

    @extend_schema(responses=s.MembershipPlanSerializer(many=True), summary="A creator's active plans (public)")
    def get(self, request, creator_id):
        plans = selectors.plans_of(creator_id).order_by("price", "created_at")
        return Response({"results": s.MembershipPlanSerializer(plans, many=True).data, "next": None})


class SubscribeView(APIView):
    @extend_schema(request=None, responses={200: s.SubscribedSerializer,
                                            409: OpenApiResponse(description="already_member")},
                   summary="Become a member: active at once (sandbox) or pay on the hosted page")
    def post(self, request, plan_id):
        result = services.subscribe(user=request.user, plan_id=plan_id)
        body = {"status": result.status, "membership": _membership_data(result.membership)}
        if result.checkout_url:
            url = result.checkout_url
            body["checkout_url"] = request.build_absolute_uri(url) if url.startswith("/") else url
        return Response(body)


class MyMembershipsView(APIView):
    @extend_schema(responses=s.MembershipSerializer(many=True), summary="The caller's memberships, newest first")
    def get(self, request):
        paginator = Pagination()
        page = paginator.paginate_queryset(selectors.memberships_of(request.user), request, view=self)
        return paginator.get_paginated_response(s.MembershipSerializer(page, many=True).data)


class MyMembershipView(APIView):
    @extend_schema(responses=s.MembershipSerializer, summary="One of the caller's memberships")
    def get(self, request, membership_id):
        membership = selectors.memberships_of(request.user).filter(pk=membership_id).first()
        if membership is None:
            raise NotFound(_("No such membership."))
        return Response(_membership_data(membership))


class CancelMembershipView(APIView):
    @extend_schema(request=None, responses=s.MembershipSerializer,
                   summary="Stop renewing; perks stay until the paid period ends")
    def post(self, request, membership_id):
        return Response(_membership_data(services.cancel_membership(user=request.user, membership_id=membership_id)))


class ResumeMembershipView(APIView):
    @extend_schema(request=None, responses={200: s.MembershipSerializer,
                                            409: OpenApiResponse(description="not_resumable")},
                   summary="Undo a cancel before the paid period ends")
    def post(self, request, membership_id):
        return Response(_membership_data(services.resume_membership(user=request.user, membership_id=membership_id)))


class MyLoyaltyView(APIView):
    @extend_schema(responses=s.LoyaltySerializer, summary="The caller's points: balance, per creator, and entries")
    def get(self, request):
        return Response(s.LoyaltySerializer(selectors.loyalty_of(request.user)).data)
