"""API v1 routes for events, tiers, tickets and check-in.

Ids in paths are matched strictly (letters, digits, "_" and "-"): anything else is a JSON 404 before
a view runs, so no odd byte (a NUL, say) ever reaches a database query.
"""
from django.urls import re_path

from . import views
from microstage.converters import ID_REGEX


def ID(name: str) -> str:  # noqa: N802 - reads as a pattern piece
    return rf"(?P<{name}>{ID_REGEX})"


EVENT = "events/" + ID("event_id")

urlpatterns = [
    re_path(r"^events$", views.EventListView.as_view(), name="api-events"),
    re_path(rf"^{EVENT}$", views.EventDetailView.as_view(), name="api-event"),
    re_path(rf"^{EVENT}/publish$", views.EventPublishView.as_view(), name="api-event-publish"),
    re_path(rf"^{EVENT}/tiers$", views.TierListView.as_view(), name="api-event-tiers"),
    re_path(rf"^{EVENT}/drops$", views.DropListView.as_view(), name="api-event-drops"),
    re_path(rf"^{EVENT}/checkins$", views.CheckInView.as_view(), name="api-event-checkins"),
    re_path(rf"^{EVENT}/checkins/sync$", views.CheckInSyncView.as_view(), name="api-event-checkins-sync"),
    re_path(rf"^{EVENT}/checkin-bundle$", views.CheckInBundleView.as_view(), name="api-event-checkin-bundle"),
    re_path(r"^tickets$", views.TicketListView.as_view(), name="api-tickets"),
    re_path(rf"^tickets/{ID('ticket_id')}/transfer$", views.TicketTransferView.as_view(), name="api-ticket-transfer"),
]
