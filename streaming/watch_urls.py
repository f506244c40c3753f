"""Public watch pages (mounted at the site root, before the events app's routes)."""
from django.urls import path

from . import replay_views, watch_views

urlpatterns = [
    path("e/<slug:slug>/watch/", watch_views.watch, name="event-watch"),
    path("e/<slug:slug>/watch/status/", watch_views.watch_status, name="event-watch-status"),
    path("e/<slug:slug>/replay/buy/", replay_views.buy_replay, name="event-replay-buy"),
]
