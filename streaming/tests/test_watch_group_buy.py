"""The group-buy progress bar on the watch page, and its live update over the event's websocket
once a join commits (Channels communicator)."""
from datetime import timedelta
from decimal import Decimal

import pytest
from asgiref.sync import sync_to_async
from django.utils import timezone

from groupbuys import services as groupbuys
from catalog.models import Product

from .live_helpers import connect, make_room, receive_type


@pytest.fixture(autouse=True)
def _sandbox(settings):
    settings.PAYMENTS_PROVIDER = "sandbox"


def add_group_buy(room, **kw):
    product = Product.objects.create(creator=room.event.creator, name="Vinyl", price=Decimal("30.00"), currency="EUR")
    return groupbuys.create_group_buy(
        actor=room.owner, creator_id=room.event.creator_id, product_id=product.pk, event_id=room.event.pk,
        deadline=timezone.now() + timedelta(days=1),
        price_tiers=[{"min_quantity": 3, "price": Decimal("25.00")}, {"min_quantity": 6, "price": Decimal("20.00")}],
        **kw)


@pytest.mark.django_db
def test_watch_page_shows_the_events_open_group_buys(client):
    room = make_room()
    gb = add_group_buy(room)
    client.force_login(room.holder)
    html = client.get(f"/e/{room.event.slug}/watch/").content.decode()
    assert f'data-group-buy="{gb.pk}"' in html and "3 more for €25.00 each" in html and "js/watch.js" in html
    groupbuys.join(group_buy_id=gb.pk, user=room.holder2, quantity=4)
    html = client.get(f"/e/{room.event.slug}/watch/").content.decode()
    assert "2 more for €20.00 each" in html and "€25.00" in html


@pytest.mark.django_db(transaction=True)
async def test_a_join_reaches_the_events_websocket_after_it_commits():
    room = await sync_to_async(make_room)()
    gb = await sync_to_async(add_group_buy)(room)
    watcher = await connect(room.event.pk, room.tokens["stranger"])
    try:
        await sync_to_async(groupbuys.join)(group_buy_id=gb.pk, user=room.holder, quantity=3)
        frame = await receive_type(watcher, "group_buy", id=gb.pk)
        assert (frame["committed_quantity"], frame["current_price"], frame["needed"]) == (3, "25.00", 3)
        assert frame["next_tier"] == {"min_quantity": 6, "price": "20.00"}
    finally:
        await watcher.disconnect()
