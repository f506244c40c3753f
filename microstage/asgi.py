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
# so are the layers that answer hot requests before Django: cached anonymous landing pages (analytics)
# and a rush's sold_out refusals (commerce). Each hands everything else on, in this order.
FAST_PATHS = ["analytics.page_asgi.PageCacheFastPath", "commerce.api.refusal_asgi.SoldOutFastPath"]
# Asked again once a request has its slot: a buyer who queued for one while the last tickets were being
# sold is refused there too, instead of costing Django a refusal, and a token client's sale is made
# there without Django's request machinery (commerce).
SLOT_FAST_PATHS = ["commerce.api.sale_asgi.SaleFastPath"]


def _wrapped(app, names: list[str]):
    for name in reversed(names):
        try:
            app = import_string(name)(app)
        except ImportError:
            pass
    return app


limited_app = Admission(_wrapped(django_asgi_app, SLOT_FAST_PATHS), settings.REQUEST_SLOTS)
try:
    websocket_urlpatterns = import_string("streaming.routing.websocket_urlpatterns")
except ImportError:
    websocket_urlpatterns = []
http_app = _wrapped(limited_app, FAST_PATHS)

application = ProtocolTypeRouter({
    # /healthz, cached landing pages and sold_out refusals before Django's middleware and sync thread;
    # everything else takes a request slot in turn (microstage/admission.py), where sales are made.
    "http": HealthFastPath(http_app),
    # `?token=` clients with or without an Origin; session cookies only from an allowed Origin.
    "websocket": TokenOrSessionAuth(URLRouter(websocket_urlpatterns)),
})
