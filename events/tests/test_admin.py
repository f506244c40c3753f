"""Staff admin for events, ticket tiers, tickets and check-ins: searchable, filterable, records read-only."""
from decimal import Decimal

import pytest
from django.contrib.admin.utils import quote  # admin URLs escape "_" in our ids

from commerce import services as commerce
from events.models import CheckIn, Ticket
from events.models import TICKET_KIND
from events.services.checkin import check_in
from events.services.tickets import qr_payload
from microstage.models import User
from microstage.tests.factories import UserFactory

from .factories import EventFactory, TierFactory
from microstage.permissions import SYSTEM

pytestmark = pytest.mark.django_db


@pytest.fixture
def staff(client):
    client.force_login(User.objects.create_superuser(email="staff@example.com", password="x-very-long-password-1"))
    return client


@pytest.fixture
def shop(settings):
    settings.PAYMENTS_PROVIDER = "sandbox"
    event = EventFactory(title="Admin Night", venue_capacity=50)
    tier = TierFactory(event=event, name="Standard", price=Decimal("20.00"), quantity=10)
    order = commerce.reserve(requests=[commerce.LineRequest(TICKET_KIND, tier.pk, 2)],
                             buyer=UserFactory(email="buyer@example.com"))
    paid = commerce.sandbox_pay(order.pk)
    ticket = Ticket.objects.filter(order_line__order=paid).first()
    check_in(event=event, payload=qr_payload(ticket), device="door-1", actor=SYSTEM)
    return {"event": event, "tier": tier, "paid": paid, "ticket": ticket}


@pytest.mark.parametrize("model,params", [
    ("event", {"q": "Admin", "status__exact": "published", "mode__exact": "in_person"}),
    ("tickettier", {"q": "Standard", "kind__exact": "standard", "event__status__exact": "published"}),
    ("ticket", {"q": "buyer@example.com", "status__exact": "valid", "checked_in_at__isempty": "0"}),
    ("checkin", {"q": "door-1", "result__exact": "ok", "offline__exact": "0"}),
])
def test_changelists_render_with_search_and_filters(staff, shop, model, params):
    r = staff.get(f"/admin/events/{model}/", params)
    assert r.status_code == 200
    page = r.content.decode()
    assert 'id="searchbar"' in page and 'id="changelist-filter"' in page and "0 results" not in page


def test_columns_change_pages_and_read_only_records(staff, shop):
    event, tier, ticket, paid = shop["event"], shop["tier"], shop["ticket"], shop["paid"]
    events = staff.get("/admin/events/event/").content.decode()
    assert "Admin Night" in events and "Tickets" in events
    tickets = staff.get("/admin/events/ticket/").content.decode()
    assert ticket.pk in tickets and paid.pk in tickets
    checkin = CheckIn.objects.get()
    for url in [f"/admin/events/event/{quote(event.pk)}/change/",
                f"/admin/events/ticket/{quote(ticket.pk)}/change/",
                f"/admin/events/tickettier/{quote(tier.pk)}/change/",
                f"/admin/events/checkin/{quote(checkin.pk)}/change/"]:
        assert staff.get(url).status_code == 200, url
    tier_page = staff.get(f"/admin/events/tickettier/{quote(tier.pk)}/change/").content.decode()
    assert 'name="price"' not in tier_page and 'name="quantity"' in tier_page  # on sale: price as buyers saw it
    ticket_page = staff.get(f"/admin/events/ticket/{quote(ticket.pk)}/change/").content.decode()
    assert 'name="status"' not in ticket_page and 'name="holder_email"' not in ticket_page
    assert staff.get("/admin/events/ticket/add/").status_code == 403
    assert staff.get("/admin/events/checkin/add/").status_code == 403


def test_drop_changelist_renders(staff):
    from django.urls import reverse

    url = reverse("admin:events_drop_changelist")
    assert staff.get(url).status_code == 200
    assert staff.get(url, {"q": "poster"}).status_code == 200
