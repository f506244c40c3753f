"""Websocket routes (authentication, by `?token=` or the session cookie, is microstage.asgi's)."""
from django.urls import re_path

from . import consumers

websocket_urlpatterns = [
    re_path(r"^ws/events/(?P<event_id>[A-Za-z0-9_]{1,40})/$", consumers.EventConsumer.as_asgi()),
]
