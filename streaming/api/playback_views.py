"""API views for playback and clips (thin: parse, call a selector or service, answer)."""
from django.conf import settings
from django.utils.translation import gettext as _
from drf_spectacular.utils import extend_schema
from rest_framework import serializers, status
from rest_framework.permissions import AllowAny
from rest_framework.response import Response
from rest_framework.views import APIView

from events.models import Event
from microstage.errors import Conflict, Forbidden, NotFound

from .. import replays, selectors
from ..services import clips
from ..models import Clip
from microstage.api.fields import AwareDateTimeField


def _absolute(path: str | None) -> str | None:
    return f"{settings.SITE_URL}{path}" if path else None


class PlaybackSerializer(serializers.Serializer):
    hls_url = serializers.CharField()
    expires_at = AwareDateTimeField()


class ClipCreateSerializer(serializers.Serializer):
    event = serializers.CharField(max_length=40)
    start_seconds = serializers.FloatField()
    end_seconds = serializers.FloatField()
    title = serializers.CharField(max_length=120)
    access = serializers.ChoiceField(choices=Clip.Access.values)


class ClipStatusSerializer(serializers.Serializer):
    id = serializers.CharField()
    status = serializers.CharField()
    progress = serializers.IntegerField()
    url = serializers.CharField(required=False)
    thumbnail_url = serializers.CharField(required=False)
    duration = serializers.FloatField(required=False)


def _event_or_404(event_id: str, user) -> Event:
    event = Event.objects.select_related("creator").filter(pk=event_id).first()
    if event is None or (event.status == Event.Status.DRAFT and not selectors.is_team(user, event.creator_id)):
        raise NotFound(_("No such event."))
    return event


class PlaybackView(APIView):
    """A short-lived HLS URL for the live stream or the replay: ticket holders, the team, or anyone
    signed in when the stream is free. Renew it before `expires_at`."""

    @extend_schema(responses={200: PlaybackSerializer})
    def get(self, request, event_id):
        event = _event_or_404(event_id, request.user)
        if not replays.can_play(event, request.user):
            raise Forbidden(_("Only ticket holders and the team can watch this stream, and buyers of the replay.")
                            if replays.active_offer(event)
                            else _("Only ticket holders and the team can watch this stream."))
        playback = replays.playback_for(event, request.user)
        if playback is None:
            raise Conflict(_("Nothing is streaming yet, and there is no replay."), code="not_live")
        return Response({"hls_url": _absolute(playback["hls_url"]), "expires_at": playback["expires_at"]})


class ClipListView(APIView):
    @extend_schema(request=ClipCreateSerializer, responses={202: dict})
    def post(self, request):
        serializer = ClipCreateSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        event = _event_or_404(data.pop("event"), request.user)
        clip = clips.create_clip(event=event, actor=request.user, **data)
        return Response({"id": clip.pk, "status": clip.status}, status=status.HTTP_202_ACCEPTED)


def clip_status(clip: Clip, user) -> dict:
    body = {"id": clip.pk, "status": clip.status, "progress": clip.progress}
    if clip.status == Clip.Status.READY:
        body["duration"] = clip.duration
        if replays.can_view_clip(clip, user):
            media = selectors.clip_media(clip)
            body["url"] = _absolute(media["url"])
            if media["thumbnail_url"]:
                body["thumbnail_url"] = _absolute(media["thumbnail_url"])
            body["expires_at"] = media["expires_at"]
    return body


class ClipDetailView(APIView):
    """A clip's status; `url` and `thumbnail_url` only for those its access rule admits."""

    permission_classes = [AllowAny]

    @extend_schema(responses={200: ClipStatusSerializer})
    def get(self, request, clip_id):
        clip = Clip.objects.select_related("event", "event__creator").filter(pk=clip_id).first()
        if clip is None or (clip.event.status == Event.Status.DRAFT
                            and not selectors.is_team(request.user, clip.event.creator_id)):
            raise NotFound(_("No such clip."))
        return Response(clip_status(clip, request.user))
