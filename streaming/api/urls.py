"""URL routes (filled in by the streaming work)."""
urlpatterns: list = []

# --- playback and clips (streaming/api/playback_views.py)
from django.urls import path as _path  # noqa: E402

from . import playback_views as _pv  # noqa: E402

urlpatterns += [
    _path("events/<str:event_id>/playback", _pv.PlaybackView.as_view(), name="api-event-playback"),
    _path("clips", _pv.ClipListView.as_view(), name="api-clips"),
    _path("clips/<str:clip_id>", _pv.ClipDetailView.as_view(), name="api-clip"),
]

# --- ingest (streaming/api/ingest_views.py)
from django.urls import re_path as _re_path  # noqa: E402

from . import ingest_views as _iv  # noqa: E402

urlpatterns += [
    _re_path(r"^events/(?P<event_id>[A-Za-z0-9_-]{1,64})/stream$", _iv.StreamView.as_view(), name="api-event-stream"),
    _re_path(r"^events/(?P<event_id>[A-Za-z0-9_-]{1,64})/stream/rotate-key$", _iv.RotateKeyView.as_view(),
             name="api-event-stream-rotate-key"),
]
