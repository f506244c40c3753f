"""URL routes (filled in by the analytics work)."""
from django.urls import path

from . import dashboard_views, views
from . import export_views

urlpatterns: list = [
    # telemetry partial of the control room, experiments (analytics/views.py)
    path("dashboard/live/<id:event_id>/telemetry/", views.control_telemetry, name="dash-control-telemetry"),
    path("dashboard/experiments/", views.experiments, name="dash-experiments"),
    path("dashboard/experiments/<id:experiment_id>/stop/", views.experiment_stop, name="dash-experiment-stop"),
    # CSV exports (analytics/export_views.py)
    path("dashboard/analytics/creators/<id:creator_id>/orders.csv", export_views.creator_orders_csv,
         name="analytics-creator-export-orders"),
    path("dashboard/analytics/creators/<id:creator_id>/attendees.csv", export_views.creator_attendees_csv,
         name="analytics-creator-export-attendees"),
    path("dashboard/analytics/creators/<id:creator_id>/metrics.csv", export_views.creator_metrics_csv,
         name="analytics-creator-export-metrics"),
    path("dashboard/analytics/<id:event_id>/orders.csv", export_views.event_orders_csv,
         name="analytics-export-orders"),
    path("dashboard/analytics/<id:event_id>/attendees.csv", export_views.event_attendees_csv,
         name="analytics-export-attendees"),
    path("dashboard/analytics/<id:event_id>/metrics.csv", export_views.event_metrics_csv,
         name="analytics-export-metrics"),
    # dashboard pages (analytics/dashboard_views.py)
    path("dashboard/analytics/", dashboard_views.creator_analytics, name="dash-analytics"),
    path("dashboard/analytics/<id:event_id>/", dashboard_views.event_analytics, name="dash-event-analytics"),
]
