"""Plain helpers shared by the events tests (fixtures live in conftest.py)."""
import json
from datetime import timedelta
from decimal import Decimal

from django.utils import timezone

from commerce import services as commerce
from events.models import Event, Ticket, TicketTier
from events.models import TICKET_KIND
from microstage.tests.factories import CreatorFactory


def EventFactory(**kw):  # noqa: N802 - reads like the factory it stands in for
    """A published in-person show next week (plain helper: no dependency on a shared factory module)."""
    start = kw.pop("starts_at", timezone.now() + timedelta(days=7))
    n = Event.objects.count()
    defaults = dict(title=f"Show {n}", slug=f"show-{n}-{start.timestamp():.0f}", description="A small show.",
                    starts_at=start, ends_at=start + timedelta(hours=3), timezone="Europe/Berlin",
                    mode=Event.Mode.IN_PERSON, venue_name="The Room", status=Event.Status.PUBLISHED,
                    published_at=timezone.now())
    defaults.update(kw)
    if "creator" not in defaults:
        defaults["creator"] = CreatorFactory()
    return Event.objects.create(**defaults)


def TierFactory(**kw):  # noqa: N802
    defaults = dict(name="Standard", price=Decimal("20.00"), currency="EUR", quantity=10, max_per_order=10)
    defaults.update(kw)
    if "event" not in defaults:
        defaults["event"] = EventFactory()
    return TicketTier.objects.create(**defaults)


def post_json(client, url, body, method="post"):
    data = body if isinstance(body, str) else json.dumps(body)
    return getattr(client, method)(url, data=data, content_type="application/json")


def buy(tier, buyer, quantity=1) -> list[Ticket]:
    order = commerce.reserve(requests=[commerce.LineRequest(TICKET_KIND, tier.pk, quantity)], buyer=buyer)
    commerce.sandbox_pay(order.pk)
    return list(Ticket.objects.filter(order_line__order=order))
