"""Creator pages for going live (mounted under /dashboard/live/): ingest, control room, replay and clips."""
from django.urls import path

from . import clip_views, control_views, dashboard_views, replay_views

urlpatterns = [
    path("clips/", clip_views.clip_library, name="dash-clips"),
    path("<id:event_id>/ingest/", dashboard_views.ingest, name="dash-ingest"),
    path("<id:event_id>/ingest/status/", dashboard_views.ingest_status, name="dash-ingest-status"),
    path("<id:event_id>/ingest/rotate/", dashboard_views.rotate, name="dash-ingest-rotate"),
    path("<id:event_id>/ingest/rehearsal/", dashboard_views.rehearsal_start, name="dash-ingest-rehearsal"),
    path("<id:event_id>/ingest/rehearsal/stop/", dashboard_views.rehearsal_stop,
         name="dash-ingest-rehearsal-stop"),
    path("<id:event_id>/control/", control_views.control_room, name="dash-control"),
    path("<id:event_id>/control/status/", control_views.control_status, name="dash-control-status"),
    path("<id:event_id>/control/preflight/", control_views.control_preflight, name="dash-control-preflight"),
    path("<id:event_id>/control/program/", control_views.control_program, name="dash-control-program"),
    path("<id:event_id>/replay/", clip_views.replay, name="dash-replay"),
    path("<id:event_id>/replay/upload/", clip_views.upload_recording, name="dash-replay-upload"),
    path("<id:event_id>/clips/new/", clip_views.clip_new, name="dash-clip-new"),
    path("<id:event_id>/replay/captions/", clip_views.replay_captions, name="dash-replay-captions"),
    path("<id:event_id>/clips/<id:clip_id>/captions/", clip_views.clip_captions, name="dash-clip-captions"),
    path("<id:event_id>/replay/price/", replay_views.replay_price, name="dash-replay-price"),
    path("<id:event_id>/clips/<id:clip_id>/price/", replay_views.clip_price, name="dash-clip-price"),
    path("<id:event_id>/clips/<id:clip_id>/status/", clip_views.clip_status, name="dash-clip-status"),
]
