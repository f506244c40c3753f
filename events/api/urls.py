"""API v1 routes for events, tiers, tickets and check-in.

Ids in paths are matched strictly (letters, digits, "_" and "-"): anything else is a JSON 404 before
a view runs, so no odd byte (a NUL, say) ever reaches a database query.
"""
from django.urls import re_path

from . import consent_views, views, waitlist_views
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
    re_path(rf"^{EVENT}/consent-form$", consent_views.ConsentFormView.as_view(), name="api-event-consent-form"),
    re_path(rf"^{EVENT}/consents$", consent_views.ConsentsView.as_view(), name="api-event-consents"),
    re_path(r"^tickets$", views.TicketListView.as_view(), name="api-tickets"),
    re_path(rf"^tickets/{ID('ticket_id')}/onboarding$", consent_views.OnboardingView.as_view(),
            name="api-ticket-onboarding"),
    re_path(rf"^drops/{ID('drop_id')}/notify-me$", consent_views.DropNotifyMeView.as_view(), name="api-drop-notify-me"),
    re_path(rf"^tiers/{ID('tier_id')}/notify-me$", consent_views.TierNotifyMeView.as_view(), name="api-tier-notify-me"),
    re_path(rf"^tiers/{ID('tier_id')}/waitlist$", waitlist_views.TierWaitlistView.as_view(), name="api-tier-waitlist"),
    re_path(r"^me/waitlist$", waitlist_views.MyWaitlistView.as_view(), name="api-my-waitlist"),
    re_path(rf"^waitlist/{ID('entry_id')}$", waitlist_views.WaitlistEntryView.as_view(), name="api-waitlist-entry"),
    re_path(r"^bundles$", waitlist_views.BundleListView.as_view(), name="api-bundles"),
    re_path(rf"^bundles/{ID('bundle_id')}$", waitlist_views.BundleDetailView.as_view(), name="api-bundle"),
    re_path(rf"^tickets/{ID('ticket_id')}/transfer$", views.TicketTransferView.as_view(), name="api-ticket-transfer"),
]
