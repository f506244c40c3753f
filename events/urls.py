"""Public event pages: discovery, creator pages, landing, tier picker, calendars and my tickets."""
from django.urls import path

from . import drop_views, views

urlpatterns = [
    path("", views.discover, name="home"),
    path("c/<slug:slug>/", views.creator_page, name="creator-page"),
    path("c/<slug:slug>/events.ics", views.creator_ics, name="creator-ics"),
    path("e/<slug:slug>/", views.landing, name="event-landing"),
    path("e/<slug:slug>/availability/", views.availability, name="event-availability"),
    path("e/<slug:slug>/reserve/", views.reserve, name="event-reserve"),
    path("e/<slug:slug>/drops/<id:drop_id>/reserve/", drop_views.drop_reserve, name="drop-reserve"),
    path("e/<slug:slug>/event.ics", views.event_ics, name="event-ics"),
    path("e/<slug:slug>/preview.png", views.preview_png, name="event-preview"),
    path("tickets/", views.my_tickets, name="my-tickets"),
    path("tickets/<id:ticket_id>/transfer/", views.ticket_transfer, name="ticket-transfer"),
]
