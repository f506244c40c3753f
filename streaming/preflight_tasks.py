"""Celery tasks: the control room's preflight checklist, run by itself before doors (beat)."""
import logging

from celery import shared_task

from . import alerts, selectors
from .services import preflight

log = logging.getLogger(__name__)


@shared_task(name="streaming.preflight_due")
def preflight_due() -> int:
    """Beat, every minute: run the checklist of every streamed event whose doors are near (each
    run is a few queries, so inline; one failing event does not stop the others)."""
    done = 0
    for event_id in selectors.preflight_due_events():
        try:
            done += preflight.run_preflight(event_id) is not None
        except Exception:
            log.exception("preflight of %s failed", event_id)
    return done


@shared_task(name="streaming.preflight_event")
def preflight_event(event_id: str) -> bool:
    return preflight.run_preflight(event_id) is not None


@shared_task(name="streaming.check_encoders")
def check_encoders() -> int:
    """Beat, every 30 s: a live show whose encoder went quiet opens an "encoder gone" alert for the team."""
    return alerts.check_encoders()
