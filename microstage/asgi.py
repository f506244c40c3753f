"""ASGI entry point: HTTP through Django, websockets through Channels (routes from streaming)."""
import os

from django.core.asgi import get_asgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "microstage.settings")
django_asgi_app = get_asgi_application()

from channels.routing import ProtocolTypeRouter, URLRouter  # noqa: E402  (needs Django set up first)
from django.utils.module_loading import import_string  # noqa: E402

from microstage.websocket_auth import TokenOrSessionAuth  # noqa: E402
from django.conf import settings  # noqa: E402

from microstage.admission import Admission  # noqa: E402
from microstage.health_asgi import HealthFastPath  # noqa: E402

# The platform knows no app above it: websocket routes are looked up by name (streaming adds them).
try:
    websocket_urlpatterns = import_string("streaming.routing.websocket_urlpatterns")
except ImportError:
    websocket_urlpatterns = []

application = ProtocolTypeRouter({
    # /healthz before Django's middleware and sync thread; everything else takes a slot in turn.
    "http": HealthFastPath(Admission(django_asgi_app, settings.REQUEST_SLOTS)),
    # `?token=` clients with or without an Origin; session cookies only from an allowed Origin.
    "websocket": TokenOrSessionAuth(URLRouter(websocket_urlpatterns)),
})
