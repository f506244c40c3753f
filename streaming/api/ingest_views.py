"""API views for ingest: an event's RTMP URL and stream key, and key rotation (team owner/manager).

Outsiders get 404 (they may not know the event exists), other team roles 403, as events/api does.
"""
from django.utils.translation import gettext as _
from drf_spectacular.utils import extend_schema
from rest_framework import status
from rest_framework.response import Response
from rest_framework.views import APIView

from events.permissions import require_event_role
from microstage.api.views import parse
from microstage.models import EDIT_ROLES

from ..services import ingest
from . import serializers as s


def ingest_body(stream) -> dict:
    return {"ingest_url": ingest.ingest_url(), "stream_key": stream.stream_key,
            "backup_ingest_url": ingest.ingest_url(backup=True), "backup_stream_key": stream.backup_key,
            "test_stream_key": stream.test_key, "status": stream.status}


class StreamView(APIView):
    @extend_schema(request=None, responses={201: s.IngestSerializer})
    def post(self, request, event_id):
        event = require_event_role(request.user, event_id, EDIT_ROLES,
                                   forbidden=_("Only the owner and managers see and change stream keys."))
        stream = ingest.ensure_stream(event, actor=request.user)
        return Response(ingest_body(stream), status=status.HTTP_201_CREATED)


class RotateKeyView(APIView):
    @extend_schema(request=s.RotateKeyRequestSerializer, responses={200: s.RotatedKeySerializer})
    def post(self, request, event_id):
        event = require_event_role(request.user, event_id, EDIT_ROLES,
                                   forbidden=_("Only the owner and managers see and change stream keys."))
        which = parse(s.RotateKeyRequestSerializer, request).get("which", "main")
        stream = ingest.ensure_stream(event, actor=request.user)
        stream = ingest.rotate_key(stream, backup=which == "backup", actor=request.user)
        return Response({"stream_key": stream.backup_key if which == "backup" else stream.stream_key})
