"""Streaming endpoints (mounted under /streaming/): nginx-rtmp's hooks and signed media files."""
from django.urls import path

from . import hls_views, views

urlpatterns = [
    path("rtmp/on-publish", views.on_publish, name="rtmp-on-publish"),
    path("rtmp/on-update", views.on_update, name="rtmp-on-update"),
    path("rtmp/on-publish-done", views.on_publish_done, name="rtmp-on-publish-done"),
    path("hls/<id:event_id>/<token:token>/<id:recording_id>/<path:path>", hls_views.hls_file, name="hls-file"),
    path("clips/<id:clip_id>/<token:token>/<token:name>", hls_views.clip_file, name="clip-file"),
]
