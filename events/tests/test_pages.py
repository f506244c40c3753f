"""Public event pages: discovery and the landing page."""
from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from events.models import Event, TicketTier
from microstage.tests.factories import CreatorFactory

pytestmark = pytest.mark.django_db


def make_event(**kw):
    start = timezone.now() + timedelta(days=3)
    defaults = dict(creator=CreatorFactory(), title="Quiet Storm", slug=f"quiet-storm-{Event.objects.count()}",
                    starts_at=start, ends_at=start + timedelta(hours=2), timezone="Europe/Berlin",
                    status=Event.Status.PUBLISHED)
    defaults.update(kw)
    return Event.objects.create(**defaults)


def test_discover_lists_only_public_published_upcoming(client):
    make_event(title="Visible show")
    make_event(title="Draft show", status=Event.Status.DRAFT)
    make_event(title="Secret show", visibility=Event.Visibility.UNLISTED)
    past = timezone.now() - timedelta(days=3)
    make_event(title="Old show", starts_at=past, ends_at=past + timedelta(hours=1))
    html = client.get("/").content.decode()
    assert "Visible show" in html
    assert "Draft show" not in html and "Secret show" not in html and "Old show" not in html


def test_discover_empty_state_says_what_to_do(client):
    assert "No shows announced yet" in client.get("/").content.decode()


def test_landing_page_shows_local_time_tiers_and_safe_markdown(client):
    event = make_event(description="**Loud** <script>alert(1)</script> [x](javascript:alert(1))")
    TicketTier.objects.create(event=event, name="VIP", price=Decimal("90.00"), currency="EUR", quantity=5,
                              perks=["Front row"])
    html = client.get(event.get_absolute_url()).content.decode()
    assert "<strong>Loud</strong>" in html
    assert "<script>alert(1)</script>" not in html and "javascript:" not in html
    assert "€90.00" in html and "Front row" in html
    assert event.local_starts_at.strftime("%H:%M") in html


def test_unpublished_event_is_404(client):
    event = make_event(status=Event.Status.DRAFT)
    assert client.get(event.get_absolute_url()).status_code == 404
    assert client.get("/e/no-such-event/").status_code == 404


def test_demo_loads_once_and_is_idempotent(client):
    from django.core.management import call_command

    call_command("demo", stdout=open("/dev/null", "w"))
    call_command("demo", stdout=open("/dev/null", "w"))
    event = Event.objects.get(slug="late-night-session")
    assert event.status == Event.Status.PUBLISHED and event.starts_at > timezone.now()
    assert event.tiers.count() == 5  # four on sale and a late release whose sales start the day before
    # the demo's paid sandbox orders and the till's cash sale, issued once
    assert event.tickets.filter(status="valid").count() == 5
    from groupbuys.models import GroupBuy

    (gb,) = GroupBuy.objects.filter(event_id=event.pk)  # an open group-buy, created once
    assert gb.status == GroupBuy.Status.OPEN and gb.participants.count() == 1 and gb.committed_quantity == 2
    assert client.get("/e/late-night-session/").status_code == 200
