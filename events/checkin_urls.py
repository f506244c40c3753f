"""Door check-in pages (mounted under /door/): the scanner and the JSON endpoints it calls."""
from django.urls import path

from . import boxoffice_views
from . import checkin_views as views

urlpatterns = [
    path("", views.door_index, name="door-index"),
    path("till/<id:location_id>/tickets/", boxoffice_views.till_page, name="till-tickets"),
    path("till/<id:location_id>/tickets/<id:order_id>/", boxoffice_views.till_sale, name="till-ticket-sale"),
    path("<id:event_id>/", views.door_page, name="door"),
    path("<id:event_id>/bundle", views.bundle, name="door-bundle"),
    path("<id:event_id>/scan", views.scan, name="door-scan"),
    path("<id:event_id>/sync", views.sync, name="door-sync"),
    path("<id:event_id>/walk-up/", boxoffice_views.walkup_page, name="door-walkup"),
    path("<id:event_id>/walk-up/<id:order_id>/", boxoffice_views.walkup_sale, name="door-walkup-sale"),
    path("<id:event_id>/walk-up/<id:order_id>/cancel", boxoffice_views.walkup_cancel, name="door-walkup-cancel"),
]
