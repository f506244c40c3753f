"""Creator dashboard pages for bundles (mounted under /dashboard/bundles/)."""
from django.urls import path

from . import bundle_views as views

urlpatterns = [
    path("", views.bundle_list, name="dash-bundles"),
    path("<id:bundle_id>/toggle/", views.bundle_toggle, name="dash-bundle-toggle"),
]
