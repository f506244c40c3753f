"""Websocket routes (the session comes from AuthMiddlewareStack in microstage.asgi; `?token=` from ours)."""
from django.urls import re_path

from . import consumers
from .middleware import TokenAuthMiddleware

websocket_urlpatterns = [
    re_path(r"^ws/events/(?P<event_id>[A-Za-z0-9_]{1,40})/$", TokenAuthMiddleware(consumers.EventConsumer.as_asgi())),
]
