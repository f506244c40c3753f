"""Root URLs: pages of every app, the API under /api/v1/, admin, accounts and health."""
from django.conf import settings
from django.http import HttpResponsePermanentRedirect
from django.contrib import admin
from allauth.account.views import password_reset_from_key
from django.urls import include, path, re_path
from csp.decorators import csp_update
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerSplitView

from . import i18n, pwa, views
from .media_views import serve_media
from .notifications import views as notification_views

SWAGGER_CDN = "https://cdn.jsdelivr.net"

# Models that left commerce for an app of their own (README "Architecture"): their old admin addresses
# lead to the new ones (308, so a form posted there is posted again), for bookmarks and links in mails.
MOVED_FROM_COMMERCE = {"checkoutattempt": "risk", "riskreview": "risk",
                       "stocklocation": "stock", "stockmovement": "stock", "stockoverride": "stock", "possale": "stock",
                       "tip": "payouts", "ledgerentry": "payouts", "dispute": "payouts", "payoutprofile": "payouts",
                       "payout": "payouts", "payoutline": "payouts", "shippingbatch": "fulfilment",
                       "shipment": "fulfilment", "pickupwindow": "fulfilment", "pickup": "fulfilment",
                       "fulfilmentcost": "fulfilment", "groupbuy": "groupbuys", "groupbuypricetier": "groupbuys",
                       "groupbuyparticipant": "groupbuys", "product": "catalog", "productvariant": "catalog"}


def moved_admin(request, model, rest):
    query = request.META.get("QUERY_STRING", "")
    return HttpResponsePermanentRedirect(f"/admin/{MOVED_FROM_COMMERCE[model]}/{model}/{rest}"
                                         + (f"?{query}" if query else ""), preserve_request=True)


api_v1 = [
    path("", include("microstage.api.urls")),
    path("", include("events.api.urls")),
    path("", include("catalog.api.urls")),
    path("", include("commerce.api.urls")),
    path("", include("groupbuys.api.urls")),
    path("", include("payouts.api.urls")),
    path("", include("memberships.api.urls")),
    path("", include("streaming.api.urls")),
    path("", include("analytics.api.urls")),
    path("schema/", SpectacularAPIView.as_view(), name="api-schema"),
    # Swagger UI: its start-up script is served from this URL (?script=), not inline, and only this
    # page may load Swagger UI's files from their CDN.
    path("docs/", csp_update({"script-src": [SWAGGER_CDN], "style-src": [SWAGGER_CDN], "img-src": [SWAGGER_CDN]})(
        SpectacularSwaggerSplitView.as_view(url_name="api-schema")), name="api-docs"),
]

urlpatterns = [
    path("healthz", views.healthz, name="healthz"),
    path("healthz/ready", views.healthz_ready, name="healthz-ready"),
    re_path(rf"^admin/commerce/(?P<model>{'|'.join(MOVED_FROM_COMMERCE)})/(?P<rest>.*)$", moved_admin),
    path("admin/", admin.site.urls),
    # Languages: the footer switcher posts here (cookie, and the account when logged in); the
    # JavaScript catalogue of each language at its own cacheable URL.
    path("i18n/setlang/", i18n.set_language, name="set_language"),
    path("jsi18n/<str:lang>.js", i18n.javascript_catalogue, name="js-catalogue"),
    # allauth's own pattern only allows [0-9A-Za-z] before the "-": our user ids ("usr_...") have an
    # underscore, so password-reset links would 404 without this wider pattern in front of it.
    re_path(r"^accounts/password/reset/key/(?P<uidb36>[0-9A-Za-z_]+)-(?P<key>.+)/$", password_reset_from_key,
            name="account_reset_password_from_key"),
    path("accounts/", include("allauth.urls")),
    path("api/v1/", include(api_v1)),
    path("payments/", include("microstage.payments.urls")),
    path("dashboard/", views.dashboard, name="dashboard"),
    path("dashboard/creators/new/", views.creator_new, name="creator-new"),
    path("dashboard/switch/", views.switch_creator, name="creator-switch"),
    path("dashboard/settings/", views.creator_settings, name="creator-settings"),
    path("dashboard/team/", views.team, name="team"),
    path("dashboard/team/<int:membership_id>/", views.team_member, name="team-member"),
    path("dashboard/invitations/<id:invitation_id>/revoke/", views.invitation_revoke, name="invitation-revoke"),
    path("invitations/<token:token>/", views.invitation, name="invitation"),
    path("account/notifications/", notification_views.preferences, name="notification-preferences"),
    # Installable door scanner and pop-up till: each service worker sits at the top of its scope.
    path("dashboard/products/pos/sw.js", pwa.service_worker, {"app": "pos"}, name="pos-sw"),
    path("dashboard/products/pos/<id:object_id>/manifest.webmanifest", pwa.manifest, {"app": "pos"},
         name="pos-manifest"),
    path("door/sw.js", pwa.service_worker, {"app": "door"}, name="door-sw"),
    path("door/<id:object_id>/manifest.webmanifest", pwa.manifest, {"app": "door"}, name="door-manifest"),
    path("dashboard/products/", include("stock.urls")),
    path("dashboard/products/", include("catalog.dashboard_urls")),
    path("dashboard/group-buys/", include("groupbuys.dashboard")),
    path("dashboard/events/", include("events.dashboard_urls")),
    path("dashboard/bundles/", include("events.bundle_urls")),
    path("door/", include("events.checkin_urls")),
    path("dashboard/memberships/", include("memberships.dashboard_urls")),
    path("dashboard/live/", include("streaming.dashboard_urls")),
    path("streaming/", include("streaming.urls")),
    path("clips/", include("streaming.clip_urls")),
    path("", include("analytics.urls")),
    path("", include("memberships.urls")),
    path("", include("catalog.urls")),
    path("", include("commerce.urls")),
    path("", include("groupbuys.urls")),
    path("", include("fulfilment.views")),  # /dashboard/fulfilment/… and the order page's delivery forms
    path("", include("streaming.watch_urls")),
    path("", include("payouts.urls")),
    path("", include("events.urls")),
]

if settings.DEBUG or settings.STORAGES["default"]["BACKEND"].endswith("FileSystemStorage"):
    # Media on the local filesystem (development and single-machine installs); production uses S3.
    # Only public media (avatars, covers, preview images) is served as plain files; recordings and
    # clips are gated and go through the signed streaming URLs instead. Served inert (media_views).
    urlpatterns += [re_path(r"^media/(?P<path>(?:creators|events)/.+)$", serve_media)]

handler400 = "microstage.views_errors.bad_request"
handler404 = "microstage.views_errors.not_found"
handler500 = "microstage.views_errors.server_error"
