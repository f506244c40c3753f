"""Demo event: a published hybrid show with its tiers, a consent form, a few orders, a live drop of tour
posters and an open group-buy."""
import zoneinfo
from datetime import timedelta
from decimal import Decimal

from django.conf import settings
from django.utils import timezone

from microstage import demo
from microstage.permissions import SYSTEM

from .models import Event, TicketTier

DEMO_EVENT_SLUG = "late-night-session"
WAITLIST_EVENT_SLUG = "soundcheck-session"
LATE_TIER_NAME = "Late release"
TILL_NAME = "Merch table"
WALKUP_EMAIL = "walk-up@demo.microstage.dev"


@demo.register
def load(ctx: dict) -> None:
    event = Event.objects.filter(slug=DEMO_EVENT_SLUG).first()
    if event is None:
        berlin = zoneinfo.ZoneInfo("Europe/Berlin")
        start = (timezone.now().astimezone(berlin) + timedelta(days=7)).replace(hour=19, minute=0, second=0,
                                                                                microsecond=0)
        event = Event.objects.create(
            creator=ctx["creator"], title="Late Night Session #12", slug=DEMO_EVENT_SLUG,
            description="An acoustic set in a 60-seat room, **streamed live**.\n\n"
                        "- Doors 19:00, music 19:30\n- Limited tour posters in a timed drop\n",
            starts_at=start, ends_at=start + timedelta(hours=3), timezone="Europe/Berlin",
            mode=Event.Mode.HYBRID, venue_name="The Lantern Room", venue_address="Weserstraße 12, Berlin",
            venue_lat=52.4875, venue_lng=13.4297, venue_capacity=60,
            status=Event.Status.PUBLISHED, published_at=timezone.now(),
        )
        cur = settings.DEFAULT_CURRENCY
        TicketTier.objects.bulk_create([
            TicketTier(event=event, name="Standard", kind="standard", price=Decimal("18.00"), currency=cur,
                       quantity=45, max_per_order=6, position=0, perks=["A seat in the room", "Replay access"]),
            TicketTier(event=event, name="Backstage", kind="backstage", price=Decimal("45.00"), currency=cur,
                       quantity=10, max_per_order=2, position=1, perks=["Soundcheck visit", "Signed setlist"]),
            TicketTier(event=event, name="VIP", kind="vip", price=Decimal("90.00"), currency=cur,
                       quantity=5, max_per_order=2, position=2, perks=["Front row", "Dinner with the band"]),
            TicketTier(event=event, name="Stream", kind="online", price=Decimal("8.00"), currency=cur,
                       quantity=500, max_per_order=4, position=3, perks=["Live stream in HD", "Replay for 30 days"]),
        ])
    ctx["event"] = event
    ctx["event_url"] = event.get_absolute_url()
    _demo_consent_form(event)
    _demo_orders(ctx, event)
    _demo_consent_answers(ctx, event)
    _demo_drop(ctx, event)
    _demo_group_buy(ctx, event)
    _demo_waitlist(ctx, event)
    _demo_bundle(ctx, event)
    _demo_notify_me(ctx, event)
    _demo_till_sale(ctx, event)


def _demo_waitlist(ctx: dict, event: Event) -> None:
    """A small sold-out show ("Soundcheck session", 2 seats, both sold) with the demo fan first in line."""
    from commerce import services as commerce

    from . import waitlist
    from .models import TICKET_KIND

    if settings.PAYMENTS_PROVIDER != "sandbox" or Event.objects.filter(slug=WAITLIST_EVENT_SLUG).exists():
        return
    show = Event.objects.create(
        creator=event.creator, title="Soundcheck session", slug=WAITLIST_EVENT_SLUG,
        description="Two seats at the desk while the band soundchecks. **Sold out** — join the waiting list.",
        starts_at=event.starts_at - timedelta(hours=2), ends_at=event.starts_at - timedelta(hours=1),
        timezone=event.timezone, mode=Event.Mode.IN_PERSON, venue_name=event.venue_name,
        venue_address=event.venue_address, status=Event.Status.PUBLISHED, published_at=timezone.now())
    tier = TicketTier.objects.create(
        event=show, name="Desk seat", kind="backstage", price=Decimal("25.00"), currency=settings.DEFAULT_CURRENCY,
        quantity=2, max_per_order=2, perks=["Watch the soundcheck from the desk"])
    order = commerce.reserve(requests=[commerce.LineRequest(TICKET_KIND, tier.pk, 2)], buyer=ctx["owner"])
    commerce.sandbox_pay(order.pk)
    waitlist.join(tier_id=tier.pk, user=ctx["fan"], quantity=1)
    ctx["waitlist_url"] = show.get_absolute_url()


def _demo_bundle(ctx: dict, event: Event) -> None:
    """"Night out": a Standard ticket, the signed poster and 5.00 of store credit for next time."""
    from catalog.models import Product

    from . import bundles
    from .models import Bundle

    poster = Product.objects.filter(creator=event.creator, name="Tour poster (signed)").first()
    standard = event.tiers.filter(kind="standard").first()
    if poster is None or standard is None or Bundle.objects.filter(creator=event.creator).exists():
        return
    bundles.create_bundle(creator=event.creator, name="Night out", price=Decimal("35.00"),
                          currency=standard.currency, credit_amount=Decimal("5.00"),
                          description="The show, a signed poster and credit for your next ticket.",
                          items=[{"tier": standard.pk, "quantity": 1}, {"product": poster.pk, "quantity": 1}],
                          actor=SYSTEM)


def _demo_notify_me(ctx: dict, event: Event) -> None:
    """"Late release": a few seats whose sales start the day before the show; the demo fan asked to be told."""
    from . import notices

    tier = event.tiers.filter(name=LATE_TIER_NAME).first()
    if tier is None:
        tier = TicketTier.objects.create(
            event=event, name=LATE_TIER_NAME, kind="standard", price=Decimal("20.00"),
            currency=settings.DEFAULT_CURRENCY, quantity=8, max_per_order=2, position=4,
            sales_start=event.starts_at - timedelta(days=1),
            perks=["Seats held back until the day before"])
    if tier.sales_start and tier.sales_start > timezone.now():
        notices.request_tier(ctx["fan"], tier)  # once per person and tier, however often the demo loads


def _demo_till_sale(ctx: dict, event: Event) -> None:
    """A pop-up till at the merch table sold one Standard ticket to a walk-up, paid in cash."""
    from stock import services as stock
    from stock.models import StockLocation

    from . import boxoffice

    if StockLocation.objects.filter(creator=event.creator, name=TILL_NAME).exists():
        return
    stock.create_location(creator=event.creator, name=TILL_NAME, kind="popup", event_id=event.pk, actor=SYSTEM)
    standard = event.tiers.filter(kind="standard").order_by("position").first()
    if standard is not None:
        boxoffice.sell(event=event, actor=ctx["door"], tier_id=standard.pk, quantity=1, payment=boxoffice.CASH,
                       email=WALKUP_EMAIL, admit=False)


def _demo_consent_form(event: Event) -> None:
    """The suggested consent form: recording release (required), photos, sharing the email."""
    from .consent import SUGGESTED, set_consent_form
    from .models import ConsentForm

    if not ConsentForm.objects.filter(event=event).exists():
        set_consent_form(event, SUGGESTED, actor=SYSTEM)


def _demo_consent_answers(ctx: dict, event: Event) -> None:
    """The fan answered for one ticket and said no to recording: the door flags it; the other is open."""
    from .consent import answer
    from .models import ConsentAnswers, Ticket

    if ConsentAnswers.objects.filter(ticket__event=event).exists():
        return
    ticket = (Ticket.objects.filter(event=event, holder=ctx["fan"], tier__kind="standard")
              .order_by("created_at", "id").first())
    if ticket is not None and event.starts_at > timezone.now():
        answer(ctx["fan"], ticket.pk, {"recording": False, "photos": True, "share_email": False})


def _demo_group_buy(ctx: dict, event: Event) -> None:
    """An open group-buy for tour hoodies during the show: cheaper from 10 and from 25 committed."""
    from groupbuys import services as groupbuys
    from catalog import services as catalog
    from catalog.models import Product
    from groupbuys.models import GroupBuy

    if GroupBuy.objects.filter(event_id=event.pk).exists():
        return
    product = Product.objects.filter(creator=event.creator, name="Tour hoodie").first() or \
        catalog.create_product(creator=event.creator, name="Tour hoodie", price=Decimal("55.00"),
                               currency=settings.DEFAULT_CURRENCY, kind=Product.Kind.PHYSICAL, stock=100,
                               made_to_order=True,
                               description="Heavy cotton, embroidered logo. Printed to order after the group-buy.",
                               actor=SYSTEM)
    gb = groupbuys.create_group_buy(
        actor=ctx["owner"], creator_id=event.creator_id, product_id=product.pk, event_id=event.pk,
        title="Tour hoodie group-buy", deadline=event.ends_at + timedelta(days=1), max_quantity=60,
        price_tiers=[{"min_quantity": 10, "price": "45.00"}, {"min_quantity": 25, "price": "38.00"}])
    if settings.PAYMENTS_PROVIDER == "sandbox":
        groupbuys.join(group_buy_id=gb.pk, user=ctx["fan"], quantity=2)


def _demo_drop(ctx: dict, event: Event) -> None:
    """A tour poster (25 in stock) in a drop that is live now and runs through the show."""
    from catalog import services as catalog
    from catalog.models import Product

    from .services import drops as drop_services
    from .models import Drop

    if Drop.objects.filter(event=event).exists():
        return
    product = Product.objects.filter(creator=event.creator, name="Tour poster (signed)").first() or \
        catalog.create_product(creator=event.creator, name="Tour poster (signed)", price=Decimal("15.00"),
                               currency=settings.DEFAULT_CURRENCY, kind=Product.Kind.PHYSICAL, stock=25,
                               description="A2 risograph print of the tour, signed after the show.", actor=SYSTEM)
    now = timezone.now()
    drop_services.create_drop(event, product=product, quantity=25, starts_at=now - timedelta(minutes=10),
                         ends_at=max(event.ends_at, now + timedelta(hours=1)), per_person_limit=2, actor=SYSTEM)


def _demo_orders(ctx: dict, event: Event) -> None:
    """A few paid orders so the dashboard, "my tickets" and the door scanner have something to show."""
    from commerce import services as commerce
    from commerce.models import Order

    from .models import TICKET_KIND

    if settings.PAYMENTS_PROVIDER != "sandbox" or Order.objects.filter(creator=event.creator).exists():
        return
    tiers: dict = {}
    for tier in event.tiers.all():  # the first of each kind (a later tier may share one)
        tiers.setdefault(tier.kind, tier)
    buys = [(ctx["fan"], tiers["standard"], 2), (ctx["fan"], tiers["online"], 1), (ctx["owner"], tiers["vip"], 1)]
    for buyer, tier, qty in buys:
        order = commerce.reserve(requests=[commerce.LineRequest(TICKET_KIND, tier.pk, qty)], buyer=buyer)
        commerce.sandbox_pay(order.pk)
