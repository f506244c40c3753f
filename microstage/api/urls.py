"""API v1 routes of the platform package; each app adds its own under /api/v1/."""
from django.urls import path

from microstage.notifications import api as notifications

from . import views

urlpatterns = [
    path("ping", views.PingView.as_view(), name="api-ping"),
    path("auth/register", views.RegisterView.as_view(), name="api-register"),
    path("auth/token", views.TokenView.as_view(), name="api-token"),
    path("me", views.MeView.as_view(), name="api-me"),
    path("me/notifications", notifications.NotificationPreferencesView.as_view(), name="api-me-notifications"),
    path("me/notifications/confirm-phone", notifications.ConfirmPhoneView.as_view(), name="api-confirm-phone"),
    path("me/notifications/resend-code", notifications.ResendCodeView.as_view(), name="api-resend-phone-code"),
    path("creators", views.CreatorListView.as_view(), name="api-creators"),
    path("creators/<id:creator_id>", views.CreatorDetailView.as_view(), name="api-creator"),
    path("creators/<id:creator_id>/team", views.TeamView.as_view(), name="api-creator-team"),
]
