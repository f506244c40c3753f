"""Synthetic data for the metrics tests (no tests of its own): a show with views, orders, refunds,
drops, a group-buy, recordings and chat, built straight in the database with fixed timestamps so
every expected number is exact."""
from datetime import UTC, datetime, timedelta
from decimal import Decimal

from analytics.models import PageView, Visitor
from commerce.models import Order, OrderLine
from catalog.models import Product
from groupbuys.models import GroupBuy
from payouts.models import Tip
from events.models import Drop, Event, Ticket, TicketTier
from events.tests.factories import EventFactory, TierFactory
from microstage.tests.factories import CreatorFactory, UserFactory
from streaming.models import ChatMessage, LiveStream, Recording

T0 = datetime(2026, 6, 1, 19, 0, tzinfo=UTC)  # the show starts; it ends three hours later


def at(seconds: float) -> datetime:
    return T0 + timedelta(seconds=seconds)


def view(visitor: Visitor, event_id: str, when: datetime, page: str = PageView.Page.EVENT,
         creator_id: str = "") -> PageView:
    pv = PageView.objects.create(visitor=visitor, page=page, event_id=event_id, creator_id=creator_id)
    PageView.objects.filter(pk=pv.pk).update(created_at=when)
    return pv


_visitor_n = [0]


def visitor(user=None) -> Visitor:
    _visitor_n[0] += 1
    return Visitor.objects.create(id=f"v{_visitor_n[0]:08d}", user=user)


def order(creator, buyer, lines, *, status=Order.Status.PAID, paid_at=None, refunded_total="0",
          created_at=None, currency="EUR") -> Order:
    """`lines`: [(kind, item_id, quantity, unit_price, refunded_quantity)]."""
    total = sum(Decimal(str(p)) * q for _k, _i, q, p, _r in lines)
    o = Order.objects.create(creator=creator, buyer=buyer, email=buyer.email if buyer else "guest@example.com",
                             status=status, currency=currency, subtotal=total, total=total,
                             refunded_total=Decimal(refunded_total), expires_at=(paid_at or T0) + timedelta(hours=1),
                             paid_at=paid_at)
    for pos, (kind, item_id, q, price, refunded) in enumerate(lines):
        price = Decimal(str(price))
        OrderLine.objects.create(order=o, kind=kind, item_id=item_id, description=f"{kind} {item_id}",
                                 unit_price=price, list_price=price, quantity=q, refunded_quantity=refunded,
                                 total=price * q, position=pos)
    Order.objects.filter(pk=o.pk).update(created_at=created_at or (paid_at or T0) - timedelta(minutes=1))
    o.refresh_from_db()
    return o


def tickets(o: Order, *, checked_in_at=None, void: int = 0) -> list[Ticket]:
    out = []
    for line in o.lines.filter(kind="ticket"):
        tier = TicketTier.objects.get(pk=line.item_id)
        for i in range(line.quantity):
            out.append(Ticket.objects.create(
                event=tier.event, tier=tier, order_line=line, holder=o.buyer, holder_email=o.email,
                status=Ticket.Status.VOID if i < void else Ticket.Status.VALID, checked_in_at=checked_in_at))
    return out


def product(creator, price="15.00") -> Product:
    return Product.objects.create(creator=creator, name="Tour shirt", price=Decimal(price), currency="EUR")


def show() -> dict:
    """The main scenario (numbers in the comments are what test_metrics asserts)."""
    creator = CreatorFactory()
    event = EventFactory(creator=creator, starts_at=T0, ends_at=T0 + timedelta(hours=3), slug="big-show",
                         status=Event.Status.PUBLISHED)
    tier = TierFactory(event=event, price=Decimal("20.00"), quantity=100)
    shirt = product(creator)
    drop = Drop.objects.create(event=event, product=shirt, quantity=3, price=Decimal("15.00"), starts_at=T0,
                               ends_at=T0 + timedelta(hours=1))
    slow_drop = Drop.objects.create(event=event, product=shirt, quantity=5, price=Decimal("15.00"),
                                    starts_at=T0 + timedelta(hours=1), ends_at=T0 + timedelta(hours=2))
    gb = GroupBuy.objects.create(creator=creator, product=shirt, event_id=event.pk, deadline=T0 + timedelta(days=2),
                                 currency="EUR", committed_quantity=4)
    other = EventFactory(creator=creator, starts_at=T0, ends_at=T0 + timedelta(hours=2))
    other_tier = TierFactory(event=other)

    u1, u2, u4, u5, u6, u7 = (UserFactory() for _ in range(6))
    v1, v2, v3, v4, v5 = visitor(u1), visitor(u2), visitor(), visitor(u4), visitor(u5)
    view(v1, event.pk, at(-3600))
    view(v1, event.pk, at(-1800), page=PageView.Page.WATCH)
    view(v2, event.pk, at(-600))
    for s in (10, 20, 30):
        view(v3, event.pk, at(s))          # an anonymous visitor: views only
    view(v4, event.pk, at(100))            # a known visitor who never buys
    view(v5, event.pk, at(7200))           # viewed only after paying: no latency sample
    view(v1, other.pk, at(-99999))         # another event's view counts nowhere here
    # 8 views, 5 unique visitors.

    o1 = order(creator, u1, [("ticket", tier.pk, 2, "20.00", 0)], paid_at=at(-3300))      # latency 300
    o2 = order(creator, u2, [("ticket", tier.pk, 2, "20.00", 1)], paid_at=at(300),         # latency 900
               status=Order.Status.PARTIALLY_REFUNDED, refunded_total="20.00")
    o3 = order(creator, u5, [("ticket", tier.pk, 1, "20.00", 0)], paid_at=at(3600))        # paid before any view
    o4 = order(creator, None, [("ticket", tier.pk, 1, "20.00", 1)], paid_at=at(3605),      # fully refunded
               status=Order.Status.REFUNDED, refunded_total="20.00")
    o5 = order(creator, u6, [("ticket", tier.pk, 1, "20.00", 0)], status=Order.Status.RESERVED)  # a hold only
    o6 = order(creator, u1, [("drop", drop.pk, 2, "15.00", 0)], paid_at=at(60))             # latency 3660
    o7 = order(creator, u2, [("drop", drop.pk, 1, "15.00", 0)], paid_at=at(240))            # latency 840; sold out
    o8 = order(creator, u7, [("drop", slow_drop.pk, 1, "15.00", 0)], paid_at=at(4000))      # no view: no sample
    o8b = order(creator, u7, [("drop", slow_drop.pk, 1, "15.00", 1)], paid_at=at(4100),     # refunded: not sold
                status=Order.Status.REFUNDED, refunded_total="15.00")
    tip_order = order(creator, u4, [("tip", creator.pk, 1, "5.00", 0)], paid_at=at(11000))  # after the show
    Tip.objects.create(creator=creator, user=u4, event_id=event.pk, amount=Decimal("5.00"), currency="EUR",
                       order=tip_order)
    order(creator, u1, [("ticket", other_tier.pk, 1, "20.00", 0)], paid_at=at(0))           # another event
    tickets(o1)
    tickets(o2, void=1)
    tickets(o3)
    tickets(o4, void=1)
    # tickets sold (valid): 2 + 1 + 1 = 4
    # orders standing: o1 o2 o3 o6 o7 o8 tip = 7; holds: all 10 orders of the event
    # revenue: 40 + 20 + 20 + 0 + 30 + 15 + 15 + 0 + 5 = 145.00

    stream = LiveStream.objects.create(event=event, peak_viewers=42)
    Recording.objects.create(stream=stream, source=Recording.Source.LIVE, duration_seconds=3000)
    rec = Recording.objects.create(stream=stream, source=Recording.Source.LIVE, finished_at=at(3600))
    Recording.objects.filter(pk=rec.pk).update(created_at=at(3000))
    Recording.objects.create(stream=stream, source=Recording.Source.UPLOAD, duration_seconds=1200)
    # live minutes: 50 + 10 = 60; revenue per live minute 145 / 60 = 2.42
    for s, deleted in ((30, False), (45, False), (400, True)):
        msg = ChatMessage.objects.create(event=event, user=u1, text="hi")
        ChatMessage.objects.filter(pk=msg.pk).update(sent_at=at(s), deleted_at=at(500) if deleted else None)
    return {"creator": creator, "event": event, "tier": tier, "drop": drop, "slow_drop": slow_drop, "gb": gb,
            "orders": [o1, o2, o3, o4, o5, o6, o7, o8, o8b, tip_order], "users": [u1, u2, u4, u5, u6, u7]}
