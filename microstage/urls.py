"""Root URLs: pages of every app, the API under /api/v1/, admin, accounts and health."""
from django.conf import settings
from django.contrib import admin
from django.urls import include, path
from django.views.static import serve
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView

from . import views

api_v1 = [
    path("", include("microstage.api.urls")),
    path("schema/", SpectacularAPIView.as_view(), name="api-schema"),
    path("docs/", SpectacularSwaggerView.as_view(url_name="api-schema"), name="api-docs"),
]

urlpatterns = [
    path("healthz", views.healthz, name="healthz"),
    path("admin/", admin.site.urls),
    path("accounts/", include("allauth.urls")),
    path("api/v1/", include(api_v1)),
    path("payments/", include("microstage.payments.urls")),
    path("dashboard/", views.dashboard, name="dashboard"),
    path("dashboard/creators/new/", views.creator_new, name="creator-new"),
    path("dashboard/switch/", views.switch_creator, name="creator-switch"),
    path("dashboard/settings/", views.creator_settings, name="creator-settings"),
    path("dashboard/team/", views.team, name="team"),
    path("dashboard/team/<int:membership_id>/", views.team_member, name="team-member"),
    path("dashboard/invitations/<str:invitation_id>/revoke/", views.invitation_revoke, name="invitation-revoke"),
    path("invitations/<str:token>/", views.invitation, name="invitation"),
    path("", include("events.urls")),
]

if settings.DEBUG or settings.STORAGES["default"]["BACKEND"].endswith("FileSystemStorage"):
    # Media on the local filesystem (development and single-machine installs); production uses S3.
    urlpatterns += [path("media/<path:path>", serve, {"document_root": settings.MEDIA_ROOT})]

handler404 = "microstage.views_errors.not_found"
handler500 = "microstage.views_errors.server_error"
