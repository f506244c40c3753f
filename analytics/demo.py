"""Demo history: four past shows of the demo creator with ticket sales, attendance, chat and page views, a replay
for sale and bought, clips, a settled group-buy, members, loyalty points and a payout statement — so a first
`make run` shows real charts in analytics, on the money page and on the creator home.

Deterministic (a seeded generator, times relative to the day it loads) and fast: rows are written in bulk,
without the per-order emails and signals of the live paths; the ledger gets the same entries those paths write.
Runs once (the newest past show's slug marks it done) and only with the sandbox provider.
"""
import random
from datetime import timedelta
from decimal import Decimal

from allauth.account.models import EmailAddress
from django.conf import settings
from django.db import transaction
from django.utils import timezone

from microstage import demo

SLUG = "late-night-session-{n}"
SHOWS = (8, 9, 10, 11)  # numbers of the past sessions; #12 is the demo's upcoming show
FANS = 24


def _fans(rng) -> list:
    from microstage.models import User

    first = ["Ana", "Ben", "Cleo", "Dev", "Eli", "Fay", "Gus", "Hana", "Ivo", "Jun", "Kai", "Lea", "Milo", "Nia",
             "Oli", "Pia", "Quin", "Rae", "Sol", "Tess", "Uma", "Vic", "Wes", "Yara"]
    emails = [f"fan{i:02d}@demo.microstage.dev" for i in range(1, FANS + 1)]
    existing = set(User.objects.filter(email__in=emails).values_list("email", flat=True))
    new = []
    for i, email in enumerate(emails):
        if email in existing:
            continue
        user = User(email=email, display_name=first[i])
        user.set_unusable_password()  # they only exist for the history; nobody logs in as them
        new.append(user)
    User.objects.bulk_create(new)
    users = list(User.objects.filter(email__in=emails).order_by("email"))
    EmailAddress.objects.bulk_create([EmailAddress(user=u, email=u.email, primary=True, verified=True)
                                      for u in users if u.email not in existing], ignore_conflicts=True)
    return users


class _Ledger:
    """Sale and fee entries as payouts.money.record_sale writes them, kept to backdate in one go."""

    def __init__(self):
        self.entries, self.stamps = [], {}

    def sale(self, order, available_at):
        from payouts.models import LedgerEntry
        from payouts.money import platform_fee

        fee = platform_fee(order.total)
        for kind, amount, note in ((LedgerEntry.Kind.SALE, order.total, ""),
                                   (LedgerEntry.Kind.FEE, -fee, f"{settings.PLATFORM_FEE_PERCENT}% platform fee")):
            self.entries.append(LedgerEntry(creator_id=order.creator_id, kind=kind, amount=amount,
                                            currency=order.currency, order=order, key=f"{kind}:{order.pk}",
                                            note=note, available_at=available_at))
            self.stamps[f"{kind}:{order.pk}"] = order.paid_at

    def save(self):
        from payouts.models import LedgerEntry

        LedgerEntry.objects.bulk_create(self.entries)
        for key, when in self.stamps.items():
            LedgerEntry.objects.filter(key=key).update(created_at=when)


def _order(creator, buyer, lines, paid_at, currency):
    """(Order, [OrderLine]) paid at `paid_at`; `lines` = [(kind, item_id, description, unit_price, qty)]."""
    from commerce.models import Order, OrderLine

    total = sum((price * qty for _, _, _, price, qty in lines), Decimal("0"))
    order = Order(creator=creator, buyer=buyer, email=buyer.email, status=Order.Status.PAID, currency=currency,
                  subtotal=total, total=total, expires_at=paid_at + timedelta(minutes=10), paid_at=paid_at)
    order_lines = [OrderLine(order=order, kind=kind, item_id=item, description=desc, unit_price=price,
                             list_price=price, quantity=qty, total=price * qty, position=i)
                   for i, (kind, item, desc, price, qty) in enumerate(lines)]
    return order, order_lines


@demo.register
def load(ctx: dict) -> None:
    from events.models import Event

    if settings.PAYMENTS_PROVIDER != "sandbox" or Event.objects.filter(slug=SLUG.format(n=SHOWS[-1])).exists():
        return
    with transaction.atomic():
        _history(ctx, random.Random(2026))  # noqa: S311 - demo data, not security


def _history(ctx: dict, rng: random.Random) -> None:  # noqa: C901 - one straight script
    from commerce import inventory
    from payouts import services as payouts
    from commerce.models import Order, OrderLine
    from catalog.models import Product
    from groupbuys.models import GroupBuy, GroupBuyParticipant, GroupBuyPriceTier
    from payouts.models import Tip
    from events.models import CheckIn, Event, Ticket, TicketTier, TierPerk
    from memberships import services as memberships
    from memberships.models import LoyaltyEntry, Membership
    from streaming.models import ChatMessage, Clip, ContentAccess, LiveStream, Recording, ReplayOffer

    from .models import PageView, Visitor

    creator, owner = ctx["creator"], ctx["owner"]
    cur = settings.DEFAULT_CURRENCY
    fans = _fans(rng)
    now = timezone.now()
    settle = timedelta(hours=settings.PAYOUT_SETTLING_HOURS)
    ledger = _Ledger()
    orders, lines, tickets, checkins, chats, views, stamps = [], [], [], [], [], [], {}
    lines_of: dict = {}
    past_events = []
    lines_text = ["What a set!", "Hello from Lisbon", "That bass line…", "Encore!", "First time here, love it",
                  "Volume is perfect", "Play the new one!", "Chat says hi", "❤️", "Best session so far"]
    for index, number in enumerate(SHOWS):
        weeks_ago = len(SHOWS) - index  # 4, 3, 2, 1 weeks before the upcoming show
        start = (now - timedelta(days=7 * weeks_ago - 4)).replace(hour=18, minute=0, second=0, microsecond=0)
        event = Event.objects.create(
            creator=creator, title=f"Late Night Session #{number}", slug=SLUG.format(n=number),
            description="An acoustic set in a 60-seat room, streamed live.", starts_at=start,
            ends_at=start + timedelta(hours=3), timezone="Europe/Berlin", mode=Event.Mode.HYBRID,
            venue_name="The Lantern Room", venue_address="Weserstraße 12, Berlin", venue_lat=52.4875,
            venue_lng=13.4297, venue_capacity=60, status=Event.Status.PUBLISHED,
            published_at=start - timedelta(days=14))
        past_events.append(event)
        standard = TicketTier.objects.create(event=event, name="Standard", kind="standard", price=Decimal("18.00"),
                                             currency=cur, quantity=45, max_per_order=6, position=0,
                                             perks=["A seat in the room"])
        stream_tier = TicketTier.objects.create(event=event, name="Stream + replay", kind="online",
                                                price=Decimal("8.00"), currency=cur, quantity=500, max_per_order=4,
                                                position=1, perks=["Live stream in HD"])
        TierPerk.objects.create(tier=stream_tier, kind=TierPerk.Kind.REPLAY, days=30)
        stream = LiveStream.objects.create(event=event, status=LiveStream.Status.ENDED,
                                           peak_viewers=rng.randint(35, 90))
        Recording.objects.create(stream=stream, source=Recording.Source.LIVE, status=Recording.Status.READY,
                                 duration_seconds=float(rng.randint(150, 175) * 60), progress=100,
                                 finished_at=event.ends_at)
        buyers = rng.sample(fans, rng.randint(12 + index * 2, 16 + index * 2))
        sold = {standard.pk: 0, stream_tier.pk: 0}
        for buyer in buyers:
            tier = standard if rng.random() < 0.7 else stream_tier
            qty = 1 if rng.random() < 0.75 else 2
            paid_at = start - timedelta(days=rng.randint(0, 9), hours=rng.randint(0, 20), minutes=rng.randint(0, 59))
            order, order_lines = _order(creator, buyer, [("ticket", tier.pk, f"{qty} × {tier.name}", tier.price,
                                                          qty)], paid_at, cur)
            orders.append(order)
            lines.extend(order_lines)
            lines_of[order] = (order_lines[0], event, tier, qty, paid_at)
            sold[tier.pk] += qty
            ledger.sale(order, event.ends_at + settle)
            visitor = Visitor(id=f"demo-{event.pk}-{buyer.pk}"[:40], user=buyer)
            views.append((visitor, event, paid_at - timedelta(minutes=rng.randint(2, 90))))
        for tier_id, n in sold.items():
            inventory.seed(inventory.tier_key(tier_id), total=500, sold=n)
        for minute in range(0, 150, 6):
            chats.append(ChatMessage(event=event, user=rng.choice(buyers), text=rng.choice(lines_text)))
            stamps.setdefault("chat", []).append(start + timedelta(minutes=minute + rng.randint(0, 5)))
    Order.objects.bulk_create(orders)
    OrderLine.objects.bulk_create(lines)
    for order, (line, event, tier, qty, _) in lines_of.items():
        for _ in range(qty):
            came = tier.kind != "online" and rng.random() < 0.85
            tickets.append(Ticket(event=event, tier=tier, order_line=line, holder=order.buyer,
                                  holder_email=order.email, holder_name=order.buyer.display_name,
                                  checked_in_at=event.starts_at + timedelta(minutes=rng.randint(0, 40))
                                  if came else None))
    Ticket.objects.bulk_create(tickets)
    checkins = [CheckIn(event=t.event, ticket=t, result=CheckIn.Result.OK, scanned_at=t.checked_in_at,
                        device="demo-door") for t in tickets if t.checked_in_at]
    CheckIn.objects.bulk_create(checkins)
    for order in orders:
        Order.objects.filter(pk=order.pk).update(created_at=order.paid_at - timedelta(minutes=3))
    Ticket.objects.filter(event__in=past_events).update(created_at=past_events[0].starts_at)
    ChatMessage.objects.bulk_create(chats)
    for message, sent in zip(chats, stamps.get("chat", []), strict=True):
        ChatMessage.objects.filter(pk=message.pk).update(sent_at=sent)
    Visitor.objects.bulk_create([v for v, _, _ in views], ignore_conflicts=True)
    page_views = [PageView(visitor=v, page=PageView.Page.EVENT, event_id=e.pk, creator_id=creator.pk)
                  for v, e, _ in views]
    PageView.objects.bulk_create(page_views)
    for view, (_, _, seen) in zip(page_views, views, strict=True):
        PageView.objects.filter(pk=view.pk).update(created_at=seen)

    # Loyalty: points for every admitted ticket (the real award path, keyed as check-ins are).
    for ticket in tickets:
        if ticket.checked_in_at:
            memberships.award(user=ticket.holder, creator_id=creator.pk, points=10,
                              reason=LoyaltyEntry.Reason.ATTENDANCE, key=f"checkin:{ticket.pk}",
                              note=f"Attended {ticket.event.title}")

    # Members: a third of the fans joined the club over the last three months.
    plan = ctx.get("plan")
    if plan is not None:
        for i, fan in enumerate(fans[::3]):
            started = now - timedelta(days=80 - i * 9)
            member = Membership.objects.create(plan=plan, creator=creator, user=fan, status=Membership.Status.ACTIVE,
                                               provider="sandbox", started_at=started,
                                               current_period_end=now + timedelta(days=30 - i))
            Membership.objects.filter(pk=member.pk).update(created_at=started)

    # The last past show: its replay sells on its own, two clips, and three fans bought the replay.
    last = past_events[-1]
    ReplayOffer.objects.create(event=last, price=Decimal("6.00"), currency=cur)
    recording = Recording.objects.get(stream__event=last)
    for title, a, b in (("Opening song", 30.0, 95.0), ("The encore", 9000.0, 9080.0)):
        Clip.objects.create(event=last, recording=recording, title=title, start_seconds=a, end_seconds=b,
                            access=Clip.Access.TICKET_HOLDERS, status=Clip.Status.READY, progress=100,
                            duration=b - a, created_by=owner, price=Decimal("1.50"), currency=cur)
    extra = []
    for fan in rng.sample(fans, 3):
        paid_at = last.ends_at + timedelta(hours=rng.randint(2, 30))
        order, order_lines = _order(creator, fan, [("replay", last.pk, f"Replay: {last.title}", Decimal("6.00"), 1)],
                                    paid_at, cur)
        extra.append((order, order_lines, paid_at + settle))
    # Tips during the shows.
    for event in past_events:
        fan = rng.choice(fans)
        amount = Decimal(rng.choice(["2.00", "5.00", "10.00"]))
        paid_at = event.starts_at + timedelta(minutes=rng.randint(20, 120))
        order, order_lines = _order(creator, fan, [("tip", creator.pk, f"Tip for {creator.name}", amount, 1)],
                                    paid_at, cur)
        order_lines[0].options = {"amount": str(amount), "currency": cur, "event": event.pk}
        extra.append((order, order_lines, event.ends_at + settle))

    # A settled group-buy of tour hoodies from the second past show: 26 committed, everyone paid 38.00.
    hoodie = Product.objects.filter(creator=creator, name="Tour hoodie").first()
    if hoodie is not None:
        show = past_events[1]
        gb = GroupBuy.objects.create(creator=creator, product=hoodie, event_id=show.pk, title="Hoodie group-buy #9",
                                     deadline=show.ends_at + timedelta(days=1), max_quantity=60, currency=cur,
                                     status=GroupBuy.Status.SETTLED, committed_quantity=26,
                                     final_price=Decimal("38.00"), settle_started_at=show.ends_at + timedelta(days=1),
                                     settled_at=show.ends_at + timedelta(days=1, minutes=2))
        GroupBuyPriceTier.objects.bulk_create([
            GroupBuyPriceTier(group_buy=gb, min_quantity=10, price=Decimal("45.00")),
            GroupBuyPriceTier(group_buy=gb, min_quantity=25, price=Decimal("38.00"))])
        left, joiners = 26, []
        for fan in fans:
            if left <= 0:
                break
            qty = min(left, rng.choice([1, 1, 2, 3]))
            left -= qty
            joiners.append((fan, qty))
        for fan, qty in joiners:
            order, order_lines = _order(creator, fan, [("group_buy", gb.pk, f"{qty} × Tour hoodie (group-buy)",
                                                        Decimal("38.00"), qty)], gb.settled_at, cur)
            extra.append((order, order_lines, show.ends_at + settle))
            order.group_buy_qty = qty
    Order.objects.bulk_create([o for o, _, _ in extra])
    OrderLine.objects.bulk_create([ln for _, ls, _ in extra for ln in ls])
    for order, order_lines, available_at in extra:
        Order.objects.filter(pk=order.pk).update(created_at=order.paid_at - timedelta(minutes=2))
        ledger.sale(order, available_at)
        line = order_lines[0]
        if line.kind == "replay":
            ContentAccess.objects.create(event=last, user=order.buyer, email=order.email, order_line=line)
        elif line.kind == "tip":
            Tip.objects.create(creator=creator, user=order.buyer, event_id=line.options["event"], amount=order.total,
                               currency=cur, message="Thank you!", order=order)
        elif line.kind == "group_buy":
            GroupBuyParticipant.objects.create(group_buy=gb, user=order.buyer, quantity=order.group_buy_qty,
                                               order=order, status=GroupBuyParticipant.Status.CAPTURED,
                                               charged_amount=order.total, outcome="Charged at 38.00 each.",
                                               settled_at=gb.settled_at)
    ledger.save()

    # Paid out last Monday: everything that had settled by then, with its statement.
    monday = (now - timedelta(days=now.weekday() or 7)).replace(hour=0, minute=15, second=0, microsecond=0)
    payouts.profile(creator.pk)
    payout = payouts.create_payout(creator.pk, cur, key=f"demo:weekly:{creator.pk}", now=monday)
    if payout is not None:
        payouts.send_payout(payout.pk)
        type(payout).objects.filter(pk=payout.pk).update(created_at=monday, paid_at=monday, expected_at=monday)
