"""The control room's preflight checklist, run by itself before doors (streaming/preflight_tasks.py
finds the due events with selectors.preflight_due_events) or on demand from the control room.
"""
from django.core.cache import cache

from events.models import Event

from .. import alerts
from ..selectors import preflight


def run_preflight(event_id: str) -> dict | None:
    """Run the checklist now and keep the result for the control room (idempotent: a later run
    simply replaces it)."""



    event = Event.objects.filter(pk=event_id).first()
    if event is None:
        return None
    result = preflight(event)
    cache.set(f"streaming:preflight:{event_id}", result, timeout=24 * 3600)
    alerts.check_preflight(event_id, result)
    return result
