"""API v1 routes for streams, playback and clips."""
from django.urls import path, re_path

from . import ingest_views, playback_views, replay_views
from microstage.converters import ID_REGEX

EVENT = r"(?P<event_id>" + ID_REGEX + r")"

urlpatterns = [
    re_path(rf"^events/{EVENT}/stream$", ingest_views.StreamView.as_view(), name="api-event-stream"),
    re_path(rf"^events/{EVENT}/stream/rotate-key$", ingest_views.RotateKeyView.as_view(),
            name="api-event-stream-rotate-key"),
    path("events/<id:event_id>/playback", playback_views.PlaybackView.as_view(), name="api-event-playback"),
    re_path(rf"^replays/{EVENT}/purchase$", replay_views.ReplayPurchaseView.as_view(), name="api-replay-purchase"),
    path("clips", playback_views.ClipListView.as_view(), name="api-clips"),
    path("clips/<id:clip_id>", playback_views.ClipDetailView.as_view(), name="api-clip"),
]
