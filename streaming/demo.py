"""Demo stream: the upcoming show's stream, whose rehearsal came in under the bitrate threshold — an open
stream-health alert in the control room, and the message the owner got about it."""
from django.conf import settings

from microstage import demo
from microstage.permissions import SYSTEM

from . import alerts
from .services import ingest
from .models import StreamIncident


@demo.register
def load(ctx: dict) -> None:
    event = ctx.get("event")
    if event is None:
        return
    stream = ingest.ensure_stream(event, actor=SYSTEM)
    if StreamIncident.objects.filter(stream=stream).exists():
        return
    reading = {"bitrate_kbps": round(settings.STREAM_MIN_BITRATE_KBPS * 0.4), "fps": 30, "dropped_frames": 0}
    stream.health = reading
    stream.save(update_fields=["health", "updated_at"])
    alerts.check_health(stream.pk, reading, None)
