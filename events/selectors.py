"""Reads for discovery and the event landing page."""
from django.db.models import Prefetch, QuerySet
from django.utils import timezone

from .models import Event, TicketTier


def upcoming_public_events(limit: int | None = 24) -> QuerySet[Event]:
    qs = (
        Event.objects.filter(status=Event.Status.PUBLISHED, visibility=Event.Visibility.PUBLIC,
                             ends_at__gt=timezone.now())
        .select_related("creator")
        .order_by("starts_at")
    )
    return qs[:limit] if limit else qs


def landing_event(slug: str) -> Event | None:
    """A published (or cancelled) event with its tiers, for the public landing page."""
    return (
        Event.objects.filter(slug=slug, status__in=[Event.Status.PUBLISHED, Event.Status.CANCELLED])
        .select_related("creator")
        .prefetch_related(Prefetch("tiers", queryset=TicketTier.objects.order_by("position", "price")))
        .first()
    )
