"""Installable device pages (door scanner, pop-up till): web app manifests and the service worker.

The worker is served from the top of each page's scope (/door/sw.js, /dashboard/products/pos/sw.js)
so it may control those pages; its source is static/js/offline-sw.js, stamped with a version (the
hash of its text) and the static URL. Manifests name no event or place: the id in the path only
becomes the start URL, so they need no login.
"""
import hashlib
import re
from functools import lru_cache

from django.conf import settings
from django.contrib.staticfiles import finders
from django.contrib.staticfiles.storage import staticfiles_storage
from django.http import Http404, HttpResponse, JsonResponse
from django.templatetags.static import static
from django.views.decorators.http import require_GET

SW_SOURCE = "js/offline-sw.js"
_ID = re.compile(r"^[A-Za-z0-9_-]{1,64}$")

APPS = {
    "door": {"scope": "/door/", "start": "/door/{id}/", "name": "Microstage door scanner",
             "short_name": "Door"},
    "pos": {"scope": "/dashboard/products/pos/", "start": "/dashboard/products/pos/{id}/",
            "name": "Microstage pop-up till", "short_name": "Till"},
}


@lru_cache(maxsize=1)
def _worker_source() -> str:
    path = finders.find(SW_SOURCE)
    if path:
        with open(path, encoding="utf-8") as fh:
            text = fh.read()
    else:  # collected static files only (production without finders)
        with staticfiles_storage.open(SW_SOURCE) as fh:
            text = fh.read().decode("utf-8")
    version = hashlib.sha256(text.encode()).hexdigest()[:12]
    return text.replace("__VERSION__", version).replace("__STATIC_URL__", settings.STATIC_URL)


@require_GET
def service_worker(request, app: str):
    if settings.DEBUG:
        _worker_source.cache_clear()  # edits show up on the next update check
    response = HttpResponse(_worker_source(), content_type="text/javascript; charset=utf-8")
    response["Cache-Control"] = "no-cache"
    response["Service-Worker-Allowed"] = APPS[app]["scope"]
    return response


@require_GET
def manifest(request, app: str, object_id: str):
    if not _ID.match(object_id):
        raise Http404("No such page.")
    spec = APPS[app]
    data = {
        "id": spec["start"].format(id=object_id),
        "name": spec["name"],
        "short_name": spec["short_name"],
        "start_url": spec["start"].format(id=object_id),
        "scope": spec["scope"],
        "display": "standalone",
        "orientation": "portrait",
        "background_color": "#ffffff",
        "theme_color": "#17152b",
        "icons": [
            {"src": static("img/icon-192.png"), "sizes": "192x192", "type": "image/png", "purpose": "any"},
            {"src": static("img/icon-512.png"), "sizes": "512x512", "type": "image/png", "purpose": "any"},
            {"src": static("img/icon-512.png"), "sizes": "512x512", "type": "image/png", "purpose": "maskable"},
        ],
    }
    response = JsonResponse(data, content_type="application/manifest+json")
    response["Cache-Control"] = "public, max-age=3600"
    return response
