"""The box office: walk-up sales at the door, cash or QR, against the same tier stock, admitted at once;
bad input changes nothing; only the door team sells."""
from decimal import Decimal

import pytest

from commerce import services as commerce
from commerce.models import Order
from events import boxoffice
from events.models import CheckIn, Ticket, TicketTier
from memberships import promos
from microstage.errors import Conflict, Invalid
from microstage.models import Role
from microstage.tests.factories import UserFactory, team_member

from .factories import EventFactory, TierFactory
from microstage.permissions import SYSTEM

pytestmark = pytest.mark.django_db


@pytest.fixture
def show(settings):
    settings.PAYMENTS_PROVIDER = "sandbox"
    event = EventFactory()
    tier = TierFactory(event=event, price=Decimal("15.00"), quantity=3)
    return event, tier, team_member(event.creator, Role.DOOR)


class TestSelling:
    def test_cash_sale_is_paid_and_admitted_at_once(self, show):
        event, tier, door = show
        sale = boxoffice.sell(event=event, actor=door, tier_id=tier.pk, quantity=2, payment="cash",
                              email="walkup@example.com")
        assert sale.order.status == Order.Status.PAID and sale.order.total == Decimal("30.00")
        assert sale.admitted and len(sale.tickets) == 2
        assert CheckIn.objects.filter(result=CheckIn.Result.OK, device=boxoffice.DEVICE).count() == 2

    def test_the_same_stock_as_online(self, show):
        event, tier, door = show
        commerce.reserve(requests=[commerce.LineRequest("ticket", tier.pk, 2)], email="online@example.com")
        with pytest.raises(Conflict) as exc:
            boxoffice.sell(event=event, actor=door, tier_id=tier.pk, quantity=2, payment="cash")
        assert exc.value.code == "sold_out"
        assert not Ticket.objects.exists()
        boxoffice.sell(event=event, actor=door, tier_id=tier.pk, quantity=1, payment="cash")
        with pytest.raises(Conflict):
            commerce.reserve(requests=[commerce.LineRequest("ticket", tier.pk, 1)], email="late@example.com")

    def test_qr_sale_waits_for_payment_then_admits(self, show):
        event, tier, door = show
        sale = boxoffice.sell(event=event, actor=door, tier_id=tier.pk, quantity=1, payment="qr")
        assert sale.pay_url.startswith("http") and not sale.admitted
        assert not boxoffice.refresh(event=event, actor=door, order_id=sale.order.pk).admitted
        commerce.sandbox_pay(sale.order.pk)  # the buyer paid on their phone
        done = boxoffice.refresh(event=event, actor=door, order_id=sale.order.pk)
        assert done.admitted and Ticket.objects.get().checked_in_at is not None
        boxoffice.refresh(event=event, actor=door, order_id=sale.order.pk)  # polling again changes nothing
        assert CheckIn.objects.count() == 1

    def test_a_qr_sale_the_buyer_walked_away_from_frees_the_tickets(self, show):
        event, tier, door = show
        sale = boxoffice.sell(event=event, actor=door, tier_id=tier.pk, quantity=3, payment="qr")
        boxoffice.cancel(event=event, actor=door, order_id=sale.order.pk)
        assert Order.objects.get(pk=sale.order.pk).status == Order.Status.CANCELLED
        assert boxoffice.sell(event=event, actor=door, tier_id=tier.pk, quantity=3, payment="cash").admitted

    def test_a_promo_code_at_the_door(self, show):
        event, tier, door = show
        promos.create_promo_code(creator=event.creator, code="DOOR5", amount_off="5", currency="EUR", actor=SYSTEM)
        sale = boxoffice.sell(event=event, actor=door, tier_id=tier.pk, quantity=1, payment="cash", code="door5")
        assert sale.order.total == Decimal("10.00") and sale.admitted

    @pytest.mark.parametrize("values, field", [
        ({"tier_id": "tier_nope"}, "tier"), ({"quantity": 0}, "quantity"), ({"quantity": "many"}, "quantity"),
        ({"quantity": 11}, "quantity"), ({"payment": "card"}, "payment")])
    def test_bad_input_changes_nothing(self, show, values, field):
        event, tier, door = show
        args = {"tier_id": tier.pk, "quantity": 1, "payment": "cash", **values}
        with pytest.raises(Invalid) as exc:
            boxoffice.sell(event=event, actor=door, **args)
        assert field in exc.value.fields
        assert not Order.objects.exists()

    def test_a_stream_only_ticket_is_not_sold_at_the_door(self, show):
        event, _, door = show
        online = TierFactory(event=event, kind=TicketTier.Kind.ONLINE)
        with pytest.raises(Invalid):
            boxoffice.sell(event=event, actor=door, tier_id=online.pk, quantity=1, payment="cash")


class TestPages:
    def test_cash_sale_through_the_page(self, client, show):
        event, tier, door = show
        client.force_login(door)
        assert tier.name in client.get(f"/door/{event.pk}/walk-up/").content.decode()
        r = client.post(f"/door/{event.pk}/walk-up/", {"tier": tier.pk, "quantity": "2", "payment": "cash"},
                        follow=True)
        assert "Admitted" in r.content.decode()
        assert Ticket.objects.filter(checked_in_at__isnull=False).count() == 2

    def test_qr_sale_page_shows_the_qr(self, client, show):
        event, tier, door = show
        client.force_login(door)
        r = client.post(f"/door/{event.pk}/walk-up/", {"tier": tier.pk, "quantity": "1", "payment": "qr"},
                        follow=True)
        assert "Waiting for payment" in r.content.decode() and "<svg" in r.content.decode()

    def test_bad_input_on_the_page(self, client, show):
        event, tier, door = show
        client.force_login(door)
        r = client.post(f"/door/{event.pk}/walk-up/", {"tier": tier.pk, "quantity": "50", "payment": "cash"})
        assert r.status_code == 400 and "1 to 10" in r.content.decode()
        r = client.post(f"/door/{event.pk}/walk-up/", {"tier": tier.pk, "quantity": "4", "payment": "cash"})
        assert r.status_code == 409 and "Sold out" in r.content.decode()
        assert not Order.objects.filter(status=Order.Status.PAID).exists()

    def test_outsiders_and_other_roles(self, client, show):
        event, tier, _ = show
        client.force_login(UserFactory())
        assert client.get(f"/door/{event.pk}/walk-up/").status_code == 404
        client.force_login(team_member(event.creator, Role.MODERATOR))
        assert client.post(f"/door/{event.pk}/walk-up/", {"tier": tier.pk, "quantity": "1",
                                                          "payment": "cash"}).status_code == 403
        assert not Order.objects.exists()


class TestTill:
    """The pop-up till sells tickets to the creator's upcoming shows (same stock), issued but not admitted."""

    @pytest.fixture
    def till(self, show):
        from stock import services as stock

        event, tier, door = show
        return stock.create_location(creator=event.creator, name="Merch table", kind="popup", actor=SYSTEM)

    def test_cash_ticket_sale_at_the_till(self, client, show, till):
        event, tier, door = show
        client.force_login(door)
        page = client.get(f"/door/till/{till.pk}/tickets/").content.decode()
        assert event.title in page and tier.name in page
        r = client.post(f"/door/till/{till.pk}/tickets/", {"tier": tier.pk, "quantity": "2", "payment": "cash",
                                                           "email": "buyer@example.com"}, follow=True)
        assert "Sold" in r.content.decode() and "buyer@example.com" in r.content.decode()
        tickets = Ticket.objects.filter(tier=tier)
        assert tickets.count() == 2 and not tickets.filter(checked_in_at__isnull=False).exists()
        r = client.post(f"/door/till/{till.pk}/tickets/", {"tier": tier.pk, "quantity": "2", "payment": "cash"})
        assert r.status_code == 409 and "Sold out" in r.content.decode()  # 1 left of 3

    def test_qr_ticket_sale_at_the_till(self, client, show, till):
        event, tier, door = show
        client.force_login(door)
        r = client.post(f"/door/till/{till.pk}/tickets/", {"tier": tier.pk, "quantity": "1", "payment": "qr"},
                        follow=True)
        assert "Waiting for payment" in r.content.decode()
        order = Order.objects.get()
        commerce.sandbox_pay(order.pk)
        page = client.get(f"/door/till/{till.pk}/tickets/{order.pk}/").content.decode()
        assert "Sold" in page and Ticket.objects.get().checked_in_at is None

    def test_bad_input_and_strangers(self, client, show, till):
        event, tier, door = show
        other = TierFactory()  # another creator's show
        client.force_login(door)
        r = client.post(f"/door/till/{till.pk}/tickets/", {"tier": other.pk, "quantity": "1", "payment": "cash"})
        assert r.status_code == 400 and "Choose a ticket" in r.content.decode()
        client.force_login(UserFactory())
        assert client.get(f"/door/till/{till.pk}/tickets/").status_code == 404
        assert not Order.objects.exists()
