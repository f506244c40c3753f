"""The analytics dashboard pages: who may open them, and that charts and their tables carry the numbers."""
import json
import re
from datetime import timedelta
from decimal import Decimal

from zoneinfo import ZoneInfo

import pytest
from django.test import Client
from django.utils import timezone

from commerce.models import Order, OrderLine
from events.models import Ticket
from events.models import TICKET_KIND
from events.tests.factories import EventFactory, TierFactory
from microstage.models import Role
from microstage.tests.factories import CreatorFactory, UserFactory, team_member

pytestmark = pytest.mark.django_db


def _client(user) -> Client:
    c = Client()
    c.force_login(user)
    return c


def _chart(resp) -> dict:
    m = re.search(r'<script id="analytics-chart-data" type="application/json">(.*?)</script>',
                  resp.content.decode(), re.S)
    assert m, "json_script block missing"
    return json.loads(m.group(1))


@pytest.mark.parametrize("role", [Role.OWNER, Role.MANAGER])
def test_event_page_renders_charts_and_tables_for_owner_and_manager(show, role):
    creator, event = show
    resp = _client(team_member(creator, role)).get(f"/dashboard/analytics/{event.pk}/")
    assert resp.status_code == 200
    html = resp.content.decode()
    chart = _chart(resp)
    assert chart["funnel"] == {"labels": ["Page views", "Holds", "Orders"], "values": [5, 4, 3]}
    assert chart["currency"] == "EUR"
    assert sum(chart["latency"]["values"]) == 3  # every paid order's buyer viewed before paying
    assert sum(chart["revenue"]["values"]) == 65.0
    assert len(chart["revenue"]["values"]) == 2  # two 5-minute buckets during the show
    assert chart["chat"] == {"labels": [(event.starts_at.astimezone(ZoneInfo("Europe/Berlin"))).strftime("%H:%M")],
                             "values": [1.0]}
    for table in ("funnel-table", "latency-table", "revenue-table", "chat-table", "drops-table"):
        assert f'id="{table}"' in html
    assert 'data-chart="funnel"' in html and "vendor/chart/chart.umd.min.js" in html
    assert "€65.00" in html
    assert re.search(r"<th scope=\"row\">Tee</th><td class=\"num\">1 of 1</td><td class=\"num\">0 s</td>", html)
    assert f'href="/dashboard/analytics/{event.pk}/orders.csv"' in html  # the export routes exist
    assert re.search(r"<th scope=\"row\">Page views</th><td class=\"num\">5</td><td class=\"num\">100.0%</td>",
                     html)
    assert re.search(r"<th scope=\"row\">Orders</th><td class=\"num\">3</td><td class=\"num\">60.0%</td>", html)


def test_event_page_without_any_data(db):
    creator = CreatorFactory()
    event = EventFactory(creator=creator)
    resp = _client(team_member(creator)).get(f"/dashboard/analytics/{event.pk}/")
    assert resp.status_code == 200
    chart = _chart(resp)
    assert chart["funnel"]["values"] == [0, 0, 0]
    assert chart["latency"]["values"] == [] and chart["revenue"]["values"] == []
    assert "No order yet followed a tracked view." in resp.content.decode()


def test_another_creators_event_is_404(show):
    _creator, event = show
    stranger = team_member(CreatorFactory())
    assert _client(stranger).get(f"/dashboard/analytics/{event.pk}/").status_code == 404


@pytest.mark.parametrize("path", ["/dashboard/analytics/", "/dashboard/analytics/{event}/"])
def test_door_and_moderator_are_refused(show, path):
    creator, event = show
    for role in (Role.DOOR, Role.MODERATOR):
        resp = _client(team_member(creator, role)).get(path.format(event=event.pk))
        assert resp.status_code == 302 and resp.url == "/dashboard/"


@pytest.mark.parametrize("path", ["/dashboard/analytics/", "/dashboard/analytics/{event}/"])
def test_outsiders_are_refused(show, path):
    _creator, event = show
    anonymous = Client().get(path.format(event=event.pk))
    assert anonymous.status_code == 302 and "/accounts/login/" in anonymous.url
    no_team = _client(UserFactory()).get(path.format(event=event.pk))
    assert no_team.status_code == 302 and no_team.url == "/dashboard/"


def test_creator_page_renders_for_owner(show):
    creator, _event = show
    resp = _client(team_member(creator)).get("/dashboard/analytics/")
    assert resp.status_code == 200
    html = resp.content.decode()
    chart = _chart(resp)
    assert chart["repeat"] == {"labels": ["All attendees", "Members", "Non-members"], "values": []}  # no check-ins
    assert chart["fulfilment"]["labels"] == ["Group-buy", "Single purchase"]
    for table in ("repeat-table", "fulfilment-table"):
        assert f'id="{table}"' in html
    assert "€65.00" in html  # three paid orders in the last 90 days
    assert f'href="/dashboard/analytics/creators/{creator.pk}/metrics.csv"' in html
    assert "Cohorts by month of first attendance" in html and "MRR" in html


def test_nav_and_event_page_link_to_analytics(show):
    creator, event = show
    owner = _client(team_member(creator))
    assert 'href="/dashboard/analytics/"' in owner.get("/dashboard/").content.decode()
    assert f'href="/dashboard/analytics/{event.pk}/"' in owner.get(f"/dashboard/events/{event.pk}/").content.decode()
    door = _client(team_member(creator, Role.DOOR))
    assert 'href="/dashboard/analytics/"' not in door.get("/dashboard/events/").content.decode()


def _checked_in(event, tier, email, when):
    order = Order.objects.create(creator=event.creator, email=email, currency="EUR", status=Order.Status.PAID,
                                 total=Decimal("20.00"), expires_at=when, paid_at=when)
    line = OrderLine.objects.create(order=order, kind=TICKET_KIND, item_id=tier.pk, description="Ticket",
                                    unit_price=Decimal("20.00"), list_price=Decimal("20.00"), quantity=1,
                                    total=Decimal("20.00"))
    Ticket.objects.create(event=event, tier=tier, order_line=line, holder_email=email, checked_in_at=when)


def test_creator_page_shows_repeat_rates_and_cohorts(db):
    """Two people attended in the last 90 days, one of them at two shows: 50 % came back."""
    creator = CreatorFactory()
    now = timezone.now()
    shows = [EventFactory(creator=creator, starts_at=now - timedelta(days=d), ends_at=now - timedelta(days=d) +
                          timedelta(hours=2)) for d in (20, 5)]
    tiers = [TierFactory(event=e) for e in shows]
    _checked_in(shows[0], tiers[0], "ann@example.com", shows[0].starts_at)
    _checked_in(shows[1], tiers[1], "ann@example.com", shows[1].starts_at)
    _checked_in(shows[1], tiers[1], "bob@example.com", shows[1].starts_at)
    resp = _client(team_member(creator)).get("/dashboard/analytics/")
    assert resp.status_code == 200
    chart = _chart(resp)
    assert chart["repeat"]["values"] == [50.0, None, 50.0]  # nobody is a member: no bar, not a 0
    html = resp.content.decode()
    assert re.search(r"<th scope=\"row\">All attendees</th><td class=\"num\">50.0%</td>", html)
    assert re.search(r"<th scope=\"row\">Members</th><td class=\"num\">—</td>", html)
    assert 'id="cohort-table"' in html
