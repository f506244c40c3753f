"""A reservation waits for a pool's row lock only so long: then 409 `busy`, not a hung request.

Two real connections: a thread holds the pool's row lock (SELECT … FOR UPDATE in an open
transaction) while a buyer reserves from the same pool through the API.
"""
import threading

import pytest
from django.db import connection, transaction

from commerce import inventory, services
from catalog import services as catalog
from commerce.models.inventory import Inventory
from microstage.errors import Conflict
from microstage.tests.factories import CreatorFactory, UserFactory
from microstage.permissions import SYSTEM

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def variant(db):
    product = catalog.create_product(creator=CreatorFactory(), name="Tour shirt", price="20.00", stock=5, actor=SYSTEM)
    return product.variants.get()


class RowLock:
    """Hold the pool row `key` locked from another connection until released."""

    def __init__(self, key: str):
        self.key, self.locked, self.done = key, threading.Event(), threading.Event()
        self.thread = threading.Thread(target=self._run)

    def _run(self):
        try:
            with transaction.atomic():
                list(Inventory.objects.select_for_update().filter(key=self.key))
                self.locked.set()
                self.done.wait(timeout=60)
        finally:
            connection.close()

    def __enter__(self):
        self.thread.start()
        assert self.locked.wait(timeout=30)
        return self

    def __exit__(self, *exc):
        self.done.set()
        self.thread.join(timeout=30)


def order_body(variant_id, quantity=1):
    return {"lines": [{"product": variant_id, "quantity": quantity}]}


def test_a_held_pool_lock_answers_409_busy(variant, make_api, settings):
    settings.LOCK_TIMEOUT_MS = 200
    settings.STOCK_SNAPSHOT_SECONDS = 0
    api = make_api(UserFactory())
    assert api.post("/api/v1/orders", order_body(variant.pk), format="json").status_code == 201  # the pool exists
    key = inventory.variant_key(variant.pk)

    with RowLock(key):
        r = api.post("/api/v1/orders", order_body(variant.pk), format="json")

    assert r.status_code == 409, r.content
    assert r.json()["code"] == "busy"
    assert "try again" in r.json()["detail"]
    # Nothing was held by the refused request; once the lock is gone the same request goes through.
    assert inventory.availability([key]) == 4
    assert api.post("/api/v1/orders", order_body(variant.pk), format="json").status_code == 201
    assert inventory.availability([key]) == 3


def test_without_a_competing_lock_reserve_is_not_busy(variant, settings):
    settings.LOCK_TIMEOUT_MS = 200
    order = services.reserve(requests=[services.LineRequest("product", variant.pk, 2)], buyer=UserFactory())
    assert order.total == 40


def test_the_service_raises_conflict_busy(variant, settings):
    settings.LOCK_TIMEOUT_MS = 100
    settings.STOCK_SNAPSHOT_SECONDS = 0
    services.reserve(requests=[services.LineRequest("product", variant.pk, 1)], buyer=UserFactory())
    with RowLock(inventory.variant_key(variant.pk)), pytest.raises(Conflict) as caught:
        services.reserve(requests=[services.LineRequest("product", variant.pk, 1)], buyer=UserFactory())
    assert caught.value.code == "busy" and caught.value.status == 409


def test_the_shop_page_says_busy_in_words(variant, client, settings):
    settings.LOCK_TIMEOUT_MS = 200
    settings.STOCK_SNAPSHOT_SECONDS = 0
    services.reserve(requests=[services.LineRequest("product", variant.pk, 1)], buyer=UserFactory())
    client.force_login(UserFactory())
    slug = variant.product.creator.slug

    with RowLock(inventory.variant_key(variant.pk)):
        r = client.post(f"/c/{slug}/shop/buy/", {"variant": variant.pk, "quantity": "1"}, follow=True)

    page = r.content.decode()
    assert r.status_code == 200
    assert "Many people are buying this right now" in page and "Nothing was reserved" in page
    assert inventory.availability([inventory.variant_key(variant.pk)]) == 4
