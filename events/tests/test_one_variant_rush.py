"""Shop, drop and group-buy buyers of one variant at the same moment (PostgreSQL, one connection per
buyer): the variant's stock is one pool, so together they never get more than it holds."""
import time
from datetime import timedelta

import pytest
from django.utils import timezone

from commerce import inventory
from groupbuys import services as groupbuys
from commerce import services as commerce
from catalog import services as catalog
from commerce.tests.helpers import run_together, taken
from events.models import DROP_KIND
from events.tests.factories import EventFactory
from events.tests.test_drops import live_drop, product_for
from microstage.errors import Conflict
from microstage.tests.factories import UserFactory, team_member


@pytest.fixture(autouse=True)
def _sandbox(settings):
    settings.PAYMENTS_PROVIDER = "sandbox"


@pytest.fixture
def dawdle(monkeypatch):
    """Linger after counting the holds, inside the reserving transaction: widens any race window."""
    original = inventory.active_holds

    def slow(pools, now):
        result = original(pools, now)
        time.sleep(0.03)
        return result

    monkeypatch.setattr(inventory, "active_holds", slow)


@pytest.mark.django_db(transaction=True)
def test_shop_drop_and_group_buy_buyers_of_one_variant_never_oversell(dawdle):
    event = EventFactory()
    owner = team_member(event.creator)
    product = product_for(event.creator, stock=7)
    variant = product.variants.get()
    drop = live_drop(event, quantity=7, product=product)
    gb = groupbuys.create_group_buy(actor=owner, creator_id=event.creator_id, product_id=product.pk,
                                    deadline=timezone.now() + timedelta(days=2),
                                    price_tiers=[{"min_quantity": 2, "price": "10.00"}])
    commerce.sandbox_pay(commerce.reserve(requests=[commerce.LineRequest(catalog.PRODUCT_KIND, variant.pk, 1)],
                                         buyer=UserFactory()).pk)  # 1 sold: 6 left

    def shop(b):
        return commerce.reserve(requests=[commerce.LineRequest(catalog.PRODUCT_KIND, variant.pk, 1)], buyer=b)

    def drop_buy(b):
        return commerce.reserve(requests=[commerce.LineRequest(DROP_KIND, drop.pk, 1)], buyer=b)

    def join(b):
        return groupbuys.join(group_buy_id=gb.pk, user=b, quantity=1)

    kinds = [shop, drop_buy, join] * 6
    buyers = [UserFactory() for _ in kinds]
    results, errors = run_together([lambda f=f, b=b: f(b) for f, b in zip(kinds, buyers, strict=True)])

    assert len(results) == 6, errors
    assert len(errors) == 12 and all(isinstance(e, Conflict) and e.code == "sold_out" for e in errors), errors
    assert taken(inventory.variant_key(variant.pk)) == 7  # 1 sold + 6 held, never more than the stock
    gb.refresh_from_db()
    joined = [r for r in results if isinstance(r, groupbuys.JoinResult)]
    assert gb.committed_quantity == len(joined)  # a refused join left nothing behind
