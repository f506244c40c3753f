"""URL routes (filled in by the streaming work)."""
urlpatterns: list = []

# --- replay, clips and uploaded recordings (streaming/clip_views.py)
from django.urls import path as _path  # noqa: E402

from . import clip_views as _cv  # noqa: E402

urlpatterns += [
    _path("clips/", _cv.clip_library, name="dash-clips"),
    _path("<str:event_id>/replay/", _cv.replay, name="dash-replay"),
    _path("<str:event_id>/replay/upload/", _cv.upload_recording, name="dash-replay-upload"),
    _path("<str:event_id>/clips/new/", _cv.clip_new, name="dash-clip-new"),
    _path("<str:event_id>/clips/<str:clip_id>/status/", _cv.clip_status, name="dash-clip-status"),
]

# --- ingest panel (streaming/dashboard_views.py)
from . import dashboard_views as _ingest  # noqa: E402

urlpatterns += [
    _path("<str:event_id>/ingest/", _ingest.ingest, name="dash-ingest"),
    _path("<str:event_id>/ingest/status/", _ingest.ingest_status, name="dash-ingest-status"),
    _path("<str:event_id>/ingest/rotate/", _ingest.rotate, name="dash-ingest-rotate"),
    _path("<str:event_id>/ingest/rehearsal/", _ingest.rehearsal_start, name="dash-ingest-rehearsal"),
    _path("<str:event_id>/ingest/rehearsal/stop/", _ingest.rehearsal_stop, name="dash-ingest-rehearsal-stop"),
]

# --- control room (streaming/control_views.py)
from . import control_views as _control  # noqa: E402

urlpatterns += [
    _path("<str:event_id>/control/", _control.control_room, name="dash-control"),
    _path("<str:event_id>/control/status/", _control.control_status, name="dash-control-status"),
    _path("<str:event_id>/control/preflight/", _control.control_preflight, name="dash-control-preflight"),
]
