"""API views for events, tiers, tickets and door check-in (thin: parse, call a service or selector, answer).

Access, as API.md fixes it: an event someone may not know exists (another creator's, a draft they
are not on the team of) is 404; a team member whose role does not allow the action gets 403
(editing needs owner/manager, the door needs owner/manager/door). The discovery list is public and
cacheable: a strong ETag over the body, `Cache-Control: public` and 304 for `If-None-Match`.
"""
import hashlib

from django.utils.translation import gettext as _
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import status
from rest_framework.exceptions import APIException
from rest_framework.permissions import AllowAny, IsAuthenticated
from rest_framework.renderers import JSONRenderer
from rest_framework.response import Response
from rest_framework.settings import api_settings
from rest_framework.views import APIView

from events import perks, selectors, transfers
from events.services import checkin as checkin_services
from events.services import drops as drop_services
from events.services import events as event_services
from events.permissions import door_only, require_event_role
from events.models import CheckIn, Event, TicketTier, in_zone
from microstage.api.pagination import Pagination
from microstage.api.views import parse
from microstage.errors import Invalid, NotFound
from microstage.models import DOOR_ROLES, EDIT_ROLES
from microstage.permissions import require_role
from microstage.selectors import role_of

from . import serializers as s

DISCOVERY_MAX_AGE = 60  # seconds a shared cache may keep the public list


def _event(event_id: str) -> Event:
    event = Event.objects.select_related("creator").filter(pk=event_id).first()
    if event is None:
        raise NotFound(_("No such event."))
    return event


def _visible_event(user, event_id: str) -> Event:
    """Published (and cancelled) events for anyone; drafts only for the creator's team; members-only
    events only for members whose plan includes them and for the team."""
    event = _event(event_id)
    if event.status == Event.Status.DRAFT and role_of(user, event.creator_id) is None:
        raise NotFound(_("No such event."))
    if not selectors.may_see_event(user, event):
        raise NotFound(_("No such event."))
    return event


def _detail(event: Event, request) -> dict:
    event.tier_list = selectors.tiers_with_availability(event, buyer=request.user)
    event.drop_list = selectors.drops_with_availability(event, variant_prices=getattr(request, "variant_prices", None))
    return s.EventDetailSerializer(event, context={"request": request}).data


def _tier_out(tier: TicketTier) -> dict:
    tier.available = selectors.tier_availability([tier])[tier.pk]
    tier.is_on_sale = tier.on_sale()
    return s.TierSerializer(tier).data


def _lenient_user(request):
    """Who calls the public list, if anyone: a missing or bad credential is simply anonymous (never a 401)."""
    if request.user.is_authenticated:  # e.g. a test client's forced authentication
        return request.user
    for authenticator in api_settings.DEFAULT_AUTHENTICATION_CLASSES:
        try:
            found = authenticator().authenticate(request)
        except APIException:
            continue
        if found and found[0].is_authenticated:
            return found[0]
    return None


def _etag_matches(header: str, etag: str) -> bool:
    """If-None-Match uses the weak comparison (RFC 9110 13.1.2): W/ prefixes do not matter."""
    if header.strip() == "*":
        return True
    tags = [t.strip() for t in header.split(",")]
    return etag in [t[2:] if t.startswith("W/") else t for t in tags]


class EventListView(APIView):
    """GET: public discovery (no login). POST: a creator's team (owner/manager) creates a draft."""

    pagination_class = Pagination

    def get_authenticators(self):
        # The list is the same for everyone: no session is read, so nothing makes it vary per user.
        if getattr(self, "request", None) is not None and self.request.method in ("GET", "HEAD"):
            return []
        return super().get_authenticators()

    def get_permissions(self):
        if self.request.method in ("GET", "HEAD", "OPTIONS"):
            return [AllowAny()]
        return [IsAuthenticated()]

    @extend_schema(parameters=[s.DiscoverQuerySerializer], responses=s.EventSummarySerializer(many=True),
                   summary="Discover public, published, upcoming events")
    def get(self, request):
        query = s.DiscoverQuerySerializer(data=request.query_params)
        query.is_valid(raise_exception=True)
        q = query.validated_data
        viewer = _lenient_user(request)
        events = selectors.discover(q=q.get("q", ""), creator=q.get("creator", ""), starts_after=q.get("starts_after"),
                                    starts_before=q.get("starts_before"), near=q.get("near"),
                                    radius_km=q.get("radius_km", 50.0), viewer=viewer)
        paginator = self.pagination_class()
        page = paginator.paginate_queryset(events, request, view=self)
        response = paginator.get_paginated_response(
            s.EventSummarySerializer(page, many=True, context={"request": request}).data)
        etag = f'"{hashlib.sha256(JSONRenderer().render(response.data)).hexdigest()[:40]}"'
        if _etag_matches(request.headers.get("If-None-Match", ""), etag):
            response = Response(status=status.HTTP_304_NOT_MODIFIED)
        response["ETag"] = etag
        # Anonymous callers all get the same list; a signed-in caller's may hold members-only events.
        response["Cache-Control"] = (f"public, max-age={DISCOVERY_MAX_AGE}" if viewer is None
                                     else f"private, max-age={DISCOVERY_MAX_AGE}")
        response["Vary"] = "Authorization"
        return response

    @extend_schema(request=s.EventInSerializer, responses={201: s.EventCreatedSerializer},
                   summary="Create a draft event")
    def post(self, request):
        data = parse(s.EventInSerializer, request)
        creator = require_role(request.user, data["creator"], EDIT_ROLES)
        event = event_services.create_event(creator=creator, actor=request.user, **s.event_fields(data))
        return Response(s.EventCreatedSerializer(event, context={"request": request}).data,
                        status=status.HTTP_201_CREATED)


class EventDetailView(APIView):
    def get_permissions(self):
        if self.request.method in ("GET", "HEAD", "OPTIONS"):
            return [AllowAny()]
        return [IsAuthenticated()]

    @extend_schema(responses=s.EventDetailSerializer, summary="One event with its tiers")
    def get(self, request, event_id):
        return Response(_detail(_visible_event(request.user, event_id), request))

    @extend_schema(request=s.EventInSerializer(partial=True), responses=s.EventDetailSerializer,
                   summary="Change an event (any of the creation fields)")
    def patch(self, request, event_id):
        event = require_event_role(request.user, event_id, EDIT_ROLES)
        body = s.EventInSerializer(data=request.data, partial=True)
        body.is_valid(raise_exception=True)
        data = body.validated_data
        if data.get("creator", event.creator_id) != event.creator_id:
            raise Invalid(_("An event cannot move to another creator."),
                          fields={"creator": [_("An event cannot move to another creator.")]})
        event = event_services.update_event(event, actor=request.user, **s.event_fields(data, event))
        return Response(_detail(_event(event.pk), request))


class EventPublishView(APIView):
    @extend_schema(request=None, responses={200: s.PublishedSerializer,
                                            409: OpenApiResponse(s.NotReadySerializer, description="not_ready")},
                   summary="Publish an event once it is ready")
    def post(self, request, event_id):
        event = event_services.publish(_event(event_id), actor=request.user)
        return Response(s.PublishedSerializer(event).data)


class TierListView(APIView):
    @extend_schema(request=s.TierInSerializer, responses={201: s.TierSerializer}, summary="Add a ticket tier")
    def post(self, request, event_id):
        event = require_event_role(request.user, event_id, EDIT_ROLES)
        data = parse(s.TierInSerializer, request)
        return Response(_tier_out(perks.create_tier(event, actor=request.user, **data)), status=status.HTTP_201_CREATED)


class DropListView(APIView):
    @extend_schema(request=s.DropInSerializer, responses={201: s.DropSerializer}, summary="Add a drop to an event")
    def post(self, request, event_id):
        event = require_event_role(request.user, event_id, EDIT_ROLES)
        data = parse(s.DropInSerializer, request)
        drop = drop_services.create_drop(event, actor=request.user, **data)
        drops = selectors.drops_with_availability(event, variant_prices=getattr(request, "variant_prices", None))
        out = next(d for d in drops if d.pk == drop.pk)
        return Response(s.DropSerializer(out).data, status=status.HTTP_201_CREATED)


class TicketListView(APIView):
    pagination_class = Pagination

    @extend_schema(responses=s.TicketSerializer(many=True), summary="The caller's tickets")
    def get(self, request):
        paginator = self.pagination_class()
        page = paginator.paginate_queryset(selectors.tickets_of(request.user), request, view=self)
        return paginator.get_paginated_response(s.TicketSerializer(page, many=True,
                                                                   context={"request": request}).data)


class TicketTransferView(APIView):
    @extend_schema(request=s.TransferSerializer, responses=s.TransferredSerializer,
                   summary="Give a ticket to someone else; its old QR payload stops working")
    def post(self, request, ticket_id):
        data = parse(s.TransferSerializer, request)
        ticket = transfers.transfer_ticket(ticket_id=ticket_id, actor=request.user, email=data["email"])
        return Response(s.TransferredSerializer(ticket).data)


class CheckInView(APIView):
    """One scan at the door: 201 admitted, 409 already in (with the first scan's time) or stream-only
    (a genuine ticket that does not open the room), 400 invalid.

    The 409 and 400 bodies carry `result` as API.md says and also `code`/`detail` like every error.
    """

    @extend_schema(request=s.CheckInInSerializer,
                   responses={201: s.CheckInResultSerializer, 409: s.CheckInResultSerializer,  # already / stream_only
                              400: s.CheckInResultSerializer},
                   summary="Check a ticket in (door team)")
    def post(self, request, event_id):
        event = require_event_role(request.user, event_id, DOOR_ROLES, forbidden=door_only())  # one query
        data = parse(s.CheckInInSerializer, request)
        result, ticket, _scan = checkin_services.check_in(event=event, payload=data["payload"], actor=request.user,
                                              device=data["device"])
        if result == CheckIn.Result.OK:
            scanned = s.ScannedTicketSerializer(ticket).data
            return Response({"result": result, "ticket": scanned, "answers": scanned["answers"],
                             "no_recording": scanned["no_recording"]}, status=status.HTTP_201_CREATED)
        if result == CheckIn.Result.ALREADY:
            first = ticket.checked_in_at
            scanned = s.ScannedTicketSerializer(ticket).data
            return Response(
                {
                    "result": result,
                    "code": result,
                    "detail": _("Already checked in at %(time)s.") % {"time": f"{in_zone(first, event.tz):%H:%M}"},
                    "first_scan_at": first.isoformat(),
                    "ticket": scanned,
                    "answers": scanned["answers"],
                    "no_recording": scanned["no_recording"],
                },
                status=status.HTTP_409_CONFLICT,
            )
        if result == CheckIn.Result.STREAM_ONLY:
            scanned = s.ScannedTicketSerializer(ticket).data
            return Response(
                {
                    "result": result,
                    "code": result,
                    "detail": _("A stream-only ticket: it does not open the room."),
                    "ticket": scanned,
                    "answers": scanned["answers"],
                    "no_recording": scanned["no_recording"],
                },
                status=status.HTTP_409_CONFLICT,
            )
        return Response({"result": result, "code": "invalid", "detail": _("Not a valid ticket for this event."),
                         "fields": {"payload": [_("Not a valid ticket for this event.")]}},
                        status=status.HTTP_400_BAD_REQUEST)


class CheckInSyncView(APIView):
    @extend_schema(request=s.SyncInSerializer, responses=s.SyncOutSerializer,
                   summary="Upload scans queued offline; the first scan in time wins")
    def post(self, request, event_id):
        event = require_event_role(request.user, event_id, DOOR_ROLES, forbidden=door_only())
        data = parse(s.SyncInSerializer, request)
        return Response({"results": checkin_services.sync_scans(event=event, scans=data["scans"], actor=request.user)})


class CheckInBundleView(APIView):
    @extend_schema(responses=s.BundleSerializer, summary="Everything a door device needs to scan offline")
    def get(self, request, event_id):
        event = require_event_role(request.user, event_id, DOOR_ROLES, forbidden=door_only())
        response = Response(checkin_services.issue_checkin_bundle(event, actor=request.user))
        response["Cache-Control"] = "private, no-store"
        return response
