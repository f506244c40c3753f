"""Creator dashboard pages for events (mounted under /dashboard/events/)."""
from django.urls import path

from . import consent_dashboard
from . import dashboard_views as views
from . import drop_views, waitlist_views
from microstage.models import DOOR_ROLES

urlpatterns = [
    path("", views.event_list, name="dash-events"),
    path("new/", views.event_new, name="dash-event-new"),
    path("markdown-preview/", views.markdown_preview, name="dash-markdown-preview"),
    path("<id:event_id>/", views.event_detail, name="dash-event"),
    path("<id:event_id>/edit/", views.event_edit, name="dash-event-edit"),
    path("<id:event_id>/publish/", views.event_publish, name="dash-event-publish"),
    path("<id:event_id>/duplicate/", views.event_duplicate, name="dash-event-duplicate"),
    path("<id:event_id>/cancel/", views.event_cancel, name="dash-event-cancel"),
    path("<id:event_id>/tiers/new/", views.tier_new, name="dash-tier-new"),
    path("<id:event_id>/tiers/<id:tier_id>/", views.tier_edit, name="dash-tier-edit"),
    path("<id:event_id>/drops/new/", drop_views.drop_new, name="dash-drop-new"),
    path("<id:event_id>/drops/<id:drop_id>/", drop_views.drop_edit, name="dash-drop-edit"),
    path("<id:event_id>/drops/<id:drop_id>/start/", drop_views.drop_start, name="dash-drop-start"),
    path("<id:event_id>/drops/<id:drop_id>/stop/", drop_views.drop_stop, name="dash-drop-stop"),
    path("<id:event_id>/attendees/", views.attendees, name="dash-attendees"),
    path("<id:event_id>/waitlist/", views.event_page(DOOR_ROLES)(waitlist_views.team_waitlist),
         name="dash-waitlist"),
    path("<id:event_id>/attendees.csv", views.attendees_csv, name="dash-attendees-csv"),
    path("<id:event_id>/consent/", consent_dashboard.consent_form, name="dash-consent"),
]
