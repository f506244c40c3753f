"""API views for accounts, creators and teams (thin: parse, call a service, answer)."""
from allauth.account.adapter import get_adapter
from django import forms
from django.utils.translation import gettext as _
from drf_spectacular.utils import extend_schema
from rest_framework import status
from rest_framework.authtoken.models import Token
from rest_framework.permissions import AllowAny
from rest_framework.response import Response
from rest_framework.views import APIView

from microstage import selectors, services
from microstage.errors import Invalid, ServiceError
from microstage.models import EDIT_ROLES
from microstage.permissions import ANY_ROLE, require_role

from . import serializers as s


def parse(serializer_class, request):
    serializer = serializer_class(data=request.data)
    serializer.is_valid(raise_exception=True)
    return serializer.validated_data


class PingView(APIView):
    """Trivial public liveness answer: no auth, no database. The baseline of bench/."""

    permission_classes = [AllowAny]
    authentication_classes: list = []

    @extend_schema(responses={200: dict})
    def get(self, request):
        return Response({"ok": True})


class RegisterView(APIView):
    permission_classes = [AllowAny]
    authentication_classes: list = []

    @extend_schema(request=s.RegisterSerializer, responses={201: s.UserCreatedSerializer})
    def post(self, request):
        data = parse(s.RegisterSerializer, request)
        user = services.register_user(**data)
        return Response(s.UserCreatedSerializer(user).data, status=status.HTTP_201_CREATED)


class TokenView(APIView):
    """Exchange email and password for an API token; failures count toward allauth's rate limit."""

    permission_classes = [AllowAny]
    authentication_classes: list = []

    @extend_schema(request=s.TokenRequestSerializer, responses={200: s.TokenSerializer})
    def post(self, request):
        data = parse(s.TokenRequestSerializer, request)
        try:
            user = get_adapter(request).authenticate(request._request, email=data["email"], password=data["password"])
        except forms.ValidationError as exc:
            raise ServiceError(_("Too many failed attempts. Try again in a few minutes."), code="rate_limited",
                               status=429) from exc
        if user is None or not user.is_active:
            raise Invalid(
                _("Email or password is wrong."),
                fields={"non_field_errors": [_("Email or password is wrong.")]},
                code="invalid_credentials",
            )
        token, _created = Token.objects.get_or_create(user=user)
        return Response({"token": token.key})


class MeView(APIView):
    @extend_schema(responses=s.MeSerializer)
    def get(self, request):
        user = request.user
        return Response({**s.MeSerializer(user).data,
                         "creators": s.MyRoleSerializer(selectors.team_roles(user), many=True).data})


class CreatorListView(APIView):
    @extend_schema(request=s.CreatorCreateSerializer, responses={201: s.CreatorSerializer})
    def post(self, request):
        data = parse(s.CreatorCreateSerializer, request)
        creator = services.create_creator(owner=request.user, name=data["name"], slug=data.get("slug") or None,
                                          bio=data.get("bio", ""))
        return Response(s.CreatorSerializer(creator).data, status=status.HTTP_201_CREATED)


class CreatorDetailView(APIView):
    @extend_schema(responses=s.CreatorSerializer)
    def get(self, request, creator_id):
        creator = require_role(request.user, creator_id, ANY_ROLE)
        return Response(s.CreatorSerializer(creator).data)


class TeamView(APIView):
    @extend_schema(responses=s.TeamEntrySerializer(many=True))
    def get(self, request, creator_id):
        creator = require_role(request.user, creator_id, ANY_ROLE)
        entries = [{"email": m.user.email, "role": m.role, "status": "active", "invitation": None}
                   for m in selectors.team_of(creator)]
        entries += [{"email": i.email, "role": i.role, "status": "invited", "invitation": i.id}
                    for i in creator.invitations.filter(status="pending")]
        return Response({"results": s.TeamEntrySerializer(entries, many=True).data, "next": None})

    @extend_schema(request=s.TeamInviteSerializer, responses={201: s.TeamEntrySerializer})
    def post(self, request, creator_id):
        creator = require_role(request.user, creator_id, EDIT_ROLES)
        data = parse(s.TeamInviteSerializer, request)
        # Always "invited": the answer never tells whether the address has an account.
        invitation = services.invite_to_team(creator=creator, actor=request.user, **data)
        body = {"email": invitation.email, "role": invitation.role, "status": "invited", "invitation": invitation.id}
        return Response(body, status=status.HTTP_201_CREATED)
