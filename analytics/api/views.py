"""API views for analytics (thin: check the team role, call a selector, answer JSON).

Team owners and managers only: someone outside the creator's team gets 404, another role 403,
an anonymous caller 401. Money goes out as decimal strings, datetimes as ISO 8601."""
from datetime import date, datetime
from decimal import Decimal

from django.utils.translation import gettext as _
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework.response import Response
from rest_framework.views import APIView

from analytics import selectors
from events.permissions import require_event_role
from microstage.errors import Invalid
from microstage.models import EDIT_ROLES
from microstage.permissions import require_role

MIN_DAYS, MAX_DAYS, DEFAULT_DAYS = 1, 365, 90


def jsonable(value):
    """Decimals to strings ("12.50"), datetimes to ISO 8601, recursively."""
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, dict):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [jsonable(v) for v in value]
    return value


def parse_days(raw) -> int:
    if raw in (None, ""):
        return DEFAULT_DAYS
    message = _("Give a whole number of days from %(min)s to %(max)s.") % {"min": MIN_DAYS, "max": MAX_DAYS}
    try:
        days = int(str(raw).strip())
    except ValueError:
        raise Invalid(message, fields={"days": [message]}) from None
    if not MIN_DAYS <= days <= MAX_DAYS:
        raise Invalid(message, fields={"days": [message]})
    return days


class EventAnalyticsView(APIView):
    @extend_schema(responses={200: OpenApiResponse(description="The event's metrics (API.md, Analytics)."),
                              403: OpenApiResponse(description="Role not owner/manager"),
                              404: OpenApiResponse(description="Not on the creator's team")})
    def get(self, request, event_id):
        event = require_event_role(request.user, event_id, EDIT_ROLES)
        return Response(jsonable(selectors.event_metrics(event)))


class CreatorAnalyticsView(APIView):
    @extend_schema(parameters=[OpenApiParameter("days", int, description="1–365, default 90")],
                   responses={200: OpenApiResponse(description="The creator's metrics (API.md, Analytics)."),
                              400: OpenApiResponse(description="Bad `days`")})
    def get(self, request, creator_id):
        creator = require_role(request.user, creator_id, EDIT_ROLES)
        days = parse_days(request.query_params.get("days"))
        return Response(jsonable(selectors.creator_metrics(creator, days=days)))
