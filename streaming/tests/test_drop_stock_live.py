"""Live drop counts: a purchase's new count reaches websocket clients once it commits (Channels
communicator and a real client against uvicorn), resync carries drops, and the watch page and the
control room show drop cards, counts, start/stop and the "drops stocked" preflight line."""
from datetime import timedelta
from decimal import Decimal

import pytest
from asgiref.sync import sync_to_async
from django.utils import timezone

from commerce import services as commerce
from catalog import services as catalog
from events import selectors as event_selectors
from events.models import DROP_KIND, Drop
from events.services import drops as drop_services
from streaming import selectors

from .live_helpers import UvicornServer, WsClient, connect, make_room, nothing_of_type, receive_type
from microstage import realtime
from microstage.permissions import SYSTEM

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture(autouse=True)
def _settings(settings):
    settings.PAYMENTS_PROVIDER = "sandbox"
    settings.PRESENCE_THROTTLE_SECONDS = 0.2


def add_drop(event, quantity=5, stock=25, **kw) -> Drop:
    product = catalog.create_product(creator=event.creator, name=kw.pop("name", "Tour poster"),
                                     price=Decimal("15.00"), stock=stock, actor=SYSTEM)
    kw.setdefault("starts_at", timezone.now() - timedelta(minutes=1))
    kw.setdefault("ends_at", event.ends_at)
    kw.setdefault("actor", SYSTEM)
    return drop_services.create_drop(event, product=product, quantity=quantity, **kw)


def buy(drop, buyer, quantity=1, pay=True):
    order = commerce.reserve(requests=[commerce.LineRequest(DROP_KIND, drop.pk, quantity)], buyer=buyer)
    if pay:
        commerce.sandbox_pay(order.pk)
    return order


async def count_reaches(watcher, item, expected: int, previous: int) -> int:
    """Read stock frames of `item` until one says `expected`; any before it repeat `previous`."""
    while True:
        frame = await receive_type(watcher, "stock", item=item)
        if frame["available"] == expected:
            return expected
        assert frame["available"] == previous, f"unexpected count {frame['available']} on the way to {expected}"


async def test_communicator_hears_the_new_count_after_commit():
    room = await sync_to_async(make_room)()
    drop = await sync_to_async(add_drop)(room.event, quantity=5)
    watcher = await connect(room.event.pk, room.tokens["stranger"])
    try:
        # Frames are coalesced (one per burst, each with the count when sent), so equal counts may
        # come once or twice: each step waits for its count, and a wrong one never comes in between.
        assert {"item": drop.pk, "available": 5} in watcher.resync["stock"]
        seen = 5
        order = await sync_to_async(buy)(drop, room.holder, 2, pay=False)  # reserve commits: 3 left
        seen = await count_reaches(watcher, drop.pk, 3, seen)
        await sync_to_async(commerce.sandbox_pay)(order.pk)  # paying keeps it at 3
        seen = await count_reaches(watcher, drop.pk, 3, seen)
        await sync_to_async(commerce.refund)(order.pk, actor=SYSTEM)
        seen = await count_reaches(watcher, drop.pk, 5, seen)
        other = await sync_to_async(buy)(drop, room.holder2, 1, pay=False)
        seen = await count_reaches(watcher, drop.pk, 4, seen)
        await sync_to_async(commerce.cancel)(other.pk, actor=SYSTEM)
        seen = await count_reaches(watcher, drop.pk, 5, seen)
    finally:
        await watcher.disconnect()


async def test_a_rolled_back_reservation_announces_nothing():
    room = await sync_to_async(make_room)()
    drop = await sync_to_async(add_drop)(room.event, quantity=1)
    await sync_to_async(buy)(drop, room.holder)
    # That sale's frames (coalesced, so slightly later) are sent by now or never: none reaches the
    # watcher, which joins afterwards, however late a loaded machine runs the window's timer.
    await sync_to_async(realtime._coalescer.cancel_pending)()
    watcher = await connect(room.event.pk, room.tokens["stranger"])
    try:
        with pytest.raises(Exception):  # sold out: the transaction rolls back
            await sync_to_async(buy)(drop, room.holder2, 1, pay=False)
        assert await nothing_of_type(watcher, "stock")
    finally:
        await watcher.disconnect()


def test_a_real_websocket_client_receives_the_count_after_a_purchase_commits():
    room = make_room()
    drop = add_drop(room.event, quantity=3)
    with UvicornServer() as server:
        client = WsClient(server, room.event.pk, room.tokens["holder"], watch=True)
        try:
            assert {"item": drop.pk, "available": 3} in client.resync["stock"]
            buy(drop, room.stranger)  # committed in this process, published through Redis
            # The reservation's and the payment's commits: one frame when they fall in one coalescing
            # window, two equal ones otherwise. Either way the count reads 2.
            assert client.next("stock", item=drop.pk)["available"] == 2
            buy(drop, room.holder2, 2)
            assert client.next("stock", item=drop.pk, available=0)["available"] == 0
        finally:
            client.close()


def test_watch_page_and_control_room_show_drops(client):
    room = make_room()
    drop = add_drop(room.event, quantity=4)
    later = add_drop(room.event, quantity=2, name="Tote", starts_at=timezone.now() + timedelta(hours=1))
    buy(drop, room.stranger)
    client.force_login(room.holder)
    html = client.get(f"/e/{room.event.slug}/watch/").content.decode()
    assert f'id="stock-{drop.pk}"' in html and "3 left" in html and f"/drops/{drop.pk}/reserve/" in html
    client.force_login(room.owner)
    html = client.get(f"/dashboard/live/{room.event.pk}/control/").content.decode()
    assert f'id="stock-{drop.pk}"' in html and "1 sold of 4" in html
    assert f"/drops/{drop.pk}/stop/" in html and f"/drops/{later.pk}/start/" in html
    r = client.post(f"/dashboard/events/{room.event.pk}/drops/{later.pk}/start/",
                    {"next": f"/dashboard/live/{room.event.pk}/control/"})
    assert r.status_code == 302 and r["Location"] == f"/dashboard/live/{room.event.pk}/control/"
    later.refresh_from_db()
    assert event_selectors.drop_state(later) == "live"
    client.force_login(room.moderator)  # moderators see counts, cannot start or stop
    html = client.get(f"/dashboard/live/{room.event.pk}/control/").content.decode()
    assert f'id="stock-{drop.pk}"' in html and "/stop/" not in html
    assert client.post(f"/dashboard/events/{room.event.pk}/drops/{drop.pk}/stop/").status_code == 302
    drop.refresh_from_db()
    assert drop.stopped_at is None


def test_preflight_drops_stocked():
    room = make_room()
    line = next(x for x in selectors.preflight(room.event)["lines"] if x["key"] == "drops")
    assert line["status"] == "n/a"
    drop = add_drop(room.event, quantity=2)
    line = next(x for x in selectors.preflight(room.event)["lines"] if x["key"] == "drops")
    assert line["status"] == "pass" and "2 items left" in line["detail"]
    drop.product.is_active = False
    drop.product.save()
    line = next(x for x in selectors.preflight(room.event)["lines"] if x["key"] == "drops")
    assert line["status"] == "fail" and "Tour poster" in line["detail"]


async def test_starting_a_drop_announces_its_full_count():
    room = await sync_to_async(make_room)()
    drop = await sync_to_async(add_drop)(room.event, quantity=7, starts_at=timezone.now() + timedelta(hours=1))
    watcher = await connect(room.event.pk, room.tokens["stranger"])
    try:
        await sync_to_async(drop_services.start_drop_now)(drop, actor=SYSTEM)  # no sale yet: no inventory rows exist
        assert (await receive_type(watcher, "stock", item=drop.pk))["available"] == 7
    finally:
        await watcher.disconnect()
