"""URL routes (filled in by the streaming work)."""
urlpatterns: list = []

# --- playback: signed HLS playlists/segments and clip files (streaming/hls_views.py)
from django.urls import path as _path  # noqa: E402

from . import hls_views as _hls  # noqa: E402

urlpatterns += [
    _path("hls/<str:event_id>/<str:token>/<str:recording_id>/<path:path>", _hls.hls_file, name="hls-file"),
    _path("clips/<str:clip_id>/<str:token>/<str:name>", _hls.clip_file, name="clip-file"),
]

# --- ingest: nginx-rtmp's callbacks (streaming/views.py)
from . import views as _ingest  # noqa: E402

urlpatterns += [
    _path("rtmp/on-publish", _ingest.on_publish, name="rtmp-on-publish"),
    _path("rtmp/on-update", _ingest.on_update, name="rtmp-on-update"),
    _path("rtmp/on-publish-done", _ingest.on_publish_done, name="rtmp-on-publish-done"),
]
