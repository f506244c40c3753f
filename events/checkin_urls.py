"""Door check-in pages (mounted under /door/): the scanner and the JSON endpoints it calls."""
from django.urls import path

from . import checkin_views as views

urlpatterns = [
    path("", views.door_index, name="door-index"),
    path("<id:event_id>/", views.door_page, name="door"),
    path("<id:event_id>/bundle", views.bundle, name="door-bundle"),
    path("<id:event_id>/scan", views.scan, name="door-scan"),
    path("<id:event_id>/sync", views.sync, name="door-sync"),
]
