"""ASGI entry point: HTTP through Django, websockets through Channels (routes from streaming)."""
import os

from django.core.asgi import get_asgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "microstage.settings")
django_asgi_app = get_asgi_application()

from channels.routing import ProtocolTypeRouter, URLRouter  # noqa: E402  (needs Django set up first)
from django.utils.module_loading import import_string  # noqa: E402

from django.conf import settings  # noqa: E402

from microstage.admission import Admission  # noqa: E402
from microstage.health_asgi import HealthFastPath  # noqa: E402
from microstage.websocket_auth import TokenOrSessionAuth  # noqa: E402

# The platform knows no app above it: websocket routes are looked up by name (streaming adds them), and
# so is the layer that answers cached anonymous landing pages before Django (analytics adds it).
limited_app = Admission(django_asgi_app, settings.REQUEST_SLOTS)
try:
    websocket_urlpatterns = import_string("streaming.routing.websocket_urlpatterns")
except ImportError:
    websocket_urlpatterns = []
try:
    http_app = import_string("analytics.page_asgi.PageCacheFastPath")(limited_app)
except ImportError:
    http_app = limited_app

application = ProtocolTypeRouter({
    # /healthz and cached landing pages before Django's middleware and sync thread; everything else takes
    # a request slot in turn (microstage/admission.py).
    "http": HealthFastPath(http_app),
    # `?token=` clients with or without an Origin; session cookies only from an allowed Origin.
    "websocket": TokenOrSessionAuth(URLRouter(websocket_urlpatterns)),
})
