"""Queries on the hot paths of a rush, pinned: a change that adds a query per request to buying a
ticket, refusing a sold-out one, scanning at the door or reading an event shows up here (with the
SQL, via -v) instead of as a slower rush. Counts are exact where the path is fixed, maxima where a
cache may save some."""
from unittest import mock

import pytest
from django.test import Client

from events.models import Ticket, TicketTier
from events.services.events import update_tier
from events.services.tickets import qr_payload
from microstage import realtime
from microstage.models import Role
from microstage.permissions import SYSTEM
from microstage.tests.factories import UserFactory, team_member

from .helpers import EventFactory, TierFactory, buy, post_json

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("sandbox")]


@pytest.fixture
def tier():
    return TierFactory(event=EventFactory(), quantity=50, max_per_order=4)


def _reserve(client, tier, quantity=1):
    return post_json(client, "/api/v1/orders", {"lines": [{"tier": tier.pk, "quantity": quantity}]})


def test_reserving_a_ticket(tier, make_api, django_assert_num_queries):
    _reserve(make_api(UserFactory()), tier)  # warm: per-process caches, the tier's pool row
    client = make_api(UserFactory())
    with django_assert_num_queries(QUERIES["reserve"]):
        response = _reserve(client, tier)
    assert response.status_code == 201, response.content


def test_refusing_a_sold_out_tier_takes_no_lock(tier, make_api, django_assert_max_num_queries, settings):
    # The snapshot must still be fresh when the measured request comes: on a slow machine, making a user
    # and a token between the two once took longer than the default second.
    settings.STOCK_SNAPSHOT_SECONDS = 30
    TicketTier.objects.filter(pk=tier.pk).update(quantity=1)
    first, second, client = (make_api(UserFactory()) for _ in range(3))
    assert _reserve(first, tier).status_code == 201
    assert _reserve(second, tier).json()["code"] == "sold_out"  # writes the snapshot
    with django_assert_max_num_queries(QUERIES["sold_out"]) as ctx:
        response = _reserve(client, tier)
    assert response.status_code == 409 and response.json()["code"] == "sold_out"
    assert not any("FOR UPDATE" in q["sql"] for q in ctx.captured_queries)
    assert not any("events_tickettier" in q["sql"] for q in ctx.captured_queries)  # not even the offer


def test_a_raised_quantity_sells_at_once_after_sold_out_refusals(tier, make_api, django_capture_on_commit_callbacks):
    """The refusals above come from the tier's snapshot before its row is read; raising the quantity drops
    that snapshot when the edit commits, and watchers are told the new count."""
    TicketTier.objects.filter(pk=tier.pk).update(quantity=1)
    assert _reserve(make_api(UserFactory()), tier).status_code == 201
    assert _reserve(make_api(UserFactory()), tier).json()["code"] == "sold_out"
    with mock.patch("microstage.realtime.publish_latest") as told, django_capture_on_commit_callbacks(execute=True):
        update_tier(TicketTier.objects.get(pk=tier.pk), quantity=2, actor=SYSTEM)
    [(group, key, payload)] = [c.args for c in told.call_args_list]
    assert key == f"stock:{tier.pk}" and payload() == {"type": "stock", "item": tier.pk, "available": 1}
    assert _reserve(make_api(UserFactory()), tier).status_code == 201


def test_announcing_a_sale_reads_nothing_of_its_tier_twice(tier, make_api, django_capture_on_commit_callbacks,
                                                            django_assert_num_queries):
    """A sale is announced to the event's watchers once it commits; which event a tier belongs to is
    read once per process, not once per sale."""
    with django_capture_on_commit_callbacks(execute=True):
        _reserve(make_api(UserFactory()), tier)  # warm
    client = make_api(UserFactory())
    with mock.patch("microstage.realtime.publish_latest") as told, \
            django_assert_num_queries(QUERIES["reserve"]), \
            django_capture_on_commit_callbacks(execute=True):  # the announcement's reads are counted too
        assert _reserve(client, tier).status_code == 201
    assert told.call_args.args[0] == realtime.event_group(tier.event_id)


def test_scanning_a_ticket_at_the_door(tier, make_api, django_assert_num_queries):
    event = tier.event
    door = make_api(team_member(event.creator, Role.DOOR))
    first, second = buy(tier, UserFactory()), buy(tier, UserFactory())
    post_json(door, f"/api/v1/events/{event.pk}/checkins", {"payload": qr_payload(first[0])})  # warm
    with django_assert_num_queries(QUERIES["checkin"]):
        response = post_json(door, f"/api/v1/events/{event.pk}/checkins", {"payload": qr_payload(second[0])})
    assert response.status_code == 201 and Ticket.objects.get(pk=second[0].pk).checked_in_at


def test_reading_an_event_with_its_tiers(tier, django_assert_max_num_queries):
    for _ in range(3):  # no query per tier
        TierFactory(event=tier.event)
    Client().get(f"/api/v1/events/{tier.event.pk}")
    with django_assert_max_num_queries(QUERIES["event"]):
        response = Client().get(f"/api/v1/events/{tier.event.pk}")
    assert response.status_code == 200 and len(response.json()["tiers"]) == 4


# Measured on 2026-12-05 ("reserve" on 2026-12-08: the order, its lines and holds are written by one
# statement). Lower them when a path gets cheaper; raising one needs a reason in the commit.
QUERIES = {"reserve": 10, "sold_out": 0, "checkin": 19, "event": 7}
