"""URL routes (filled in by the analytics work)."""
from django.urls import re_path

from . import views as metrics_views
from .telemetry import telemetry
from microstage.converters import ID_REGEX

urlpatterns: list = [
    # client telemetry (analytics/api/telemetry.py)
    re_path(r"^telemetry$", telemetry, name="api-telemetry"),
    # metrics (analytics/api/views.py)
    re_path(r"^events/(?P<event_id>" + ID_REGEX + r")/analytics$", metrics_views.EventAnalyticsView.as_view(),
            name="api-event-analytics"),
    re_path(r"^creators/(?P<creator_id>" + ID_REGEX + r")/analytics$",
            metrics_views.CreatorAnalyticsView.as_view(), name="api-creator-analytics"),
]
