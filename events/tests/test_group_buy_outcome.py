"""A group-buy's outcome (API.md Commerce): null while open, "reached" or "not_reached" once the
deadline decided it, kept after settlement — in the API, the live frames and every page that shows
the status."""
from decimal import Decimal

import pytest

from groupbuys import services as groupbuys
from groupbuys.models import GroupBuy
from events.tests.factories import EventFactory
from microstage.tests.factories import UserFactory

from groupbuys.tests.groupbuy_helpers import group_buy, join, past_deadline

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("sandbox_provider")]


@pytest.fixture
def sandbox_provider(settings):
    settings.PAYMENTS_PROVIDER = "sandbox"


def read(api, gb):
    r = api.get(f"/api/v1/group-buys/{gb.pk}")
    assert r.status_code == 200
    return r.json()


def test_a_failed_group_buy_stays_not_reached_after_settlement(api):
    gb = group_buy()  # needs 5 for the first tier
    join(gb, 1)
    assert read(api, gb)["outcome"] is None
    past_deadline(gb)
    groupbuys.begin_settlement(gb.pk)
    body = read(api, gb)
    assert (body["status"], body["outcome"], body["final_price"]) == ("failed", "not_reached", None)
    groupbuys.settle(gb.pk)
    body = read(api, gb)
    assert (body["status"], body["outcome"]) == ("settled", "not_reached")


def test_a_reached_group_buy_stays_reached_after_settlement(api):
    gb = group_buy(tiers=[{"min_quantity": 2, "price": "7.00"}])
    join(gb, 2)
    past_deadline(gb)
    assert groupbuys.begin_settlement(gb.pk).status == "succeeded"
    assert read(api, gb)["outcome"] == "reached"
    groupbuys.settle(gb.pk)
    body = read(api, gb)
    assert (body["status"], body["outcome"], body["final_price"]) == ("settled", "reached", "7.00")


def test_the_live_frame_carries_the_outcome():
    gb = group_buy()
    assert groupbuys.progress(gb).as_payload(gb)["outcome"] is None
    past_deadline(gb)
    gb = groupbuys.settle(gb.pk)
    assert groupbuys.progress(gb).as_payload(gb)["outcome"] == "not_reached"


@pytest.mark.parametrize(("joined", "text", "other"), [(1, "Deal not reached · nothing charged", "Deal reached"),
                                                      (2, "Deal reached · settled", "Deal not reached")])
def test_every_page_with_the_status_shows_the_outcome(client, joined, text, other):
    gb = group_buy(tiers=[{"min_quantity": 2, "price": "7.00"}])
    owner = gb.owner
    event = EventFactory(creator=gb.creator)
    GroupBuy.objects.filter(pk=gb.pk).update(event_id=event.pk)
    join(gb, joined, user=UserFactory())
    past_deadline(gb)
    gb = groupbuys.settle(gb.pk)
    assert gb.status == "settled" and (gb.final_price == Decimal("7.00")) == (joined == 2)

    public = client.get(f"/g/{gb.pk}/").content.decode()
    assert text in public and other not in public
    client.force_login(owner)
    for url in ("/dashboard/group-buys/", f"/dashboard/group-buys/{gb.pk}/"):
        page = client.get(url)
        assert page.status_code == 200
        assert text in page.content.decode(), url
    analytics = client.get(f"/dashboard/analytics/{event.pk}/")
    assert analytics.status_code == 200
    assert ("deal reached" if joined == 2 else "deal not reached") in analytics.content.decode()
