"""Fixtures shared by the analytics tests."""
from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from analytics.models import PageView, Visitor
from commerce.models import Order, OrderLine
from catalog.models import Product
from events.models import Drop
from events.models import DROP_KIND, TICKET_KIND
from events.tests.factories import EventFactory, TierFactory
from microstage.tests.factories import CreatorFactory, UserFactory
from streaming.models import ChatMessage


@pytest.fixture
def show():
    """A show that ran two hours ago: 3 visitors (2 of them buyers), 5 views, 3 paid orders (2 tickets, a drop
    of 1 that sold out) and 1 abandoned, 1 chat message during the show."""
    creator = CreatorFactory()
    now = timezone.now()
    event = EventFactory(creator=creator, starts_at=now - timedelta(hours=2), ends_at=now - timedelta(minutes=30))
    tier = TierFactory(event=event, price=Decimal("20.00"), currency="EUR", quantity=50)
    buyers = [UserFactory(), UserFactory()]
    visitors = [Visitor.objects.create(id=f"v_test{i:020d}", user=buyers[i] if i < 2 else None) for i in range(3)]
    for i, v in enumerate([0, 0, 1, 2, 2]):
        PageView.objects.create(visitor=visitors[v], page="event", event_id=event.pk, creator_id=creator.pk)
        del i
    PageView.objects.filter(event_id=event.pk).update(created_at=now - timedelta(hours=3))
    for n, buyer in enumerate(buyers):
        paid = event.starts_at + timedelta(minutes=10 + 20 * n)
        order = Order.objects.create(creator=creator, buyer=buyer, email=buyer.email, currency="EUR",
                                     status=Order.Status.PAID, subtotal=Decimal("20.00"), total=Decimal("20.00"),
                                     expires_at=paid, paid_at=paid)
        OrderLine.objects.create(order=order, kind=TICKET_KIND, item_id=tier.pk, description="Ticket",
                                 unit_price=Decimal("20.00"), list_price=Decimal("20.00"), quantity=1,
                                 total=Decimal("20.00"))
    drop = Drop.objects.create(event=event, product=Product.objects.create(creator=creator, name="Tee",
                                                                          price=Decimal("25.00"), currency="EUR"),
                               quantity=1, starts_at=event.starts_at, ends_at=event.ends_at)
    order = Order.objects.create(creator=creator, buyer=buyers[0], email=buyers[0].email, currency="EUR",
                                 status=Order.Status.PAID, subtotal=Decimal("25.00"), total=Decimal("25.00"),
                                 expires_at=now, paid_at=event.starts_at + timedelta(minutes=12))
    OrderLine.objects.create(order=order, kind=DROP_KIND, item_id=drop.pk, description="Tee (drop)",
                             unit_price=Decimal("25.00"), list_price=Decimal("25.00"), quantity=1,
                             total=Decimal("25.00"))
    ChatMessage.objects.create(event=event, user=buyers[1], text="hello")
    ChatMessage.objects.filter(event=event).update(sent_at=event.starts_at + timedelta(minutes=3))
    gone = Order.objects.create(creator=creator, email="gone@example.com", currency="EUR",
                                status=Order.Status.EXPIRED, total=Decimal("20.00"), expires_at=now)
    OrderLine.objects.create(order=gone, kind=TICKET_KIND, item_id=tier.pk, description="Ticket",
                             unit_price=Decimal("20.00"), list_price=Decimal("20.00"), quantity=1,
                             total=Decimal("20.00"))
    return creator, event
