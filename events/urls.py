"""Public event pages: discovery, creator pages, landing, tier picker, calendars and my tickets."""
from django.urls import path

from . import consent_views, drop_views, views, waitlist_views

urlpatterns = [
    path("", views.discover, name="home"),
    path("c/<slug:slug>/", views.creator_page, name="creator-page"),
    path("c/<slug:slug>/events.ics", views.creator_ics, name="creator-ics"),
    path("e/<slug:slug>/", views.landing, name="event-landing"),
    path("e/<slug:slug>/availability/", views.availability, name="event-availability"),
    path("e/<slug:slug>/reserve/", views.reserve, name="event-reserve"),
    path("e/<slug:slug>/drops/<id:drop_id>/reserve/", drop_views.drop_reserve, name="drop-reserve"),
    path("e/<slug:slug>/drops/<id:drop_id>/notify-me/", consent_views.drop_notify_me, name="drop-notify-me"),
    path("e/<slug:slug>/tiers/<id:tier_id>/notify-me/", consent_views.tier_notify_me, name="tier-notify-me"),
    path("e/<slug:slug>/event.ics", views.event_ics, name="event-ics"),
    path("e/<slug:slug>/preview.png", views.preview_png, name="event-preview"),
    path("e/<slug:slug>/tiers/<id:tier_id>/waitlist/", waitlist_views.join, name="waitlist-join"),
    path("waitlist/", waitlist_views.my_waitlist, name="my-waitlist"),
    path("waitlist/<id:entry_id>/leave/", waitlist_views.leave, name="waitlist-leave"),
    path("tickets/", views.my_tickets, name="my-tickets"),
    path("tickets/<id:ticket_id>/transfer/", views.ticket_transfer, name="ticket-transfer"),
    path("tickets/<id:ticket_id>/onboarding/", consent_views.onboarding, name="ticket-onboarding"),
    path("tickets/claim/<token:token>/", views.ticket_claim, name="ticket-claim"),
]
