"""Waiting lists for sold-out tiers (API.md "Waiting list"): joining, places in line, offers when
tickets come back (cancel, refund, a lapsed hold, more quantity), nobody jumping the line, offers
passing on, and fairness when people join or tickets come back at the same moment."""
from datetime import timedelta
from unittest import mock

import pytest
from django.core import mail
from django.core.cache import cache
from django.utils import timezone

from commerce import services, stock_snapshot
from commerce.models import Order
from commerce.models.inventory import Hold
from commerce.services import LineRequest
from events import waitlist
from events.models import WaitlistEntry
from events.models import TICKET_KIND
from events.services.events import update_tier
from events.tasks import promote_waiting_lists
from microstage.errors import Conflict
from microstage.tests.factories import UserFactory, team_member

from .factories import TierFactory
from .test_ticket_stock import run_together
from microstage.permissions import SYSTEM


@pytest.fixture
def sandbox(settings):
    settings.PAYMENTS_PROVIDER = "sandbox"
    return settings


@pytest.fixture
def tier(db):
    return TierFactory(quantity=2, price="20.00")


def buy(tier, quantity=1, buyer=None):
    return services.reserve(requests=[LineRequest(TICKET_KIND, tier.pk, quantity)], buyer=buyer or UserFactory())


def sell_out(tier, sandbox_pay=True):
    order = buy(tier, tier.quantity)
    if sandbox_pay:
        services.sandbox_pay(order.pk)
    return order


def join(make_api, user, tier, **body):
    return make_api(user).post(f"/api/v1/tiers/{tier.pk}/waitlist", body, format="json")


@pytest.mark.django_db
class TestJoining:
    def test_a_tier_that_can_be_bought_refuses_with_not_sold_out(self, make_api, tier):
        r = join(make_api, UserFactory(), tier)
        assert r.status_code == 409 and r.json()["code"] == "not_sold_out"
        assert not WaitlistEntry.objects.exists()

    def test_sold_out_tier_takes_people_in_order(self, make_api, tier, sandbox):
        sell_out(tier)
        a, b = UserFactory(), UserFactory()
        ra = join(make_api, a, tier)
        rb = join(make_api, b, tier, quantity=2)
        assert ra.status_code == 201 and rb.status_code == 201
        assert ra.json()["status"] == "waiting" and ra.json()["position"] == 1 and rb.json()["position"] == 2
        assert ra.json()["id"].startswith("wl_")

    def test_held_tickets_count_as_sold_out(self, make_api, tier):
        buy(tier, 2)  # reserved, not paid: nobody else can buy them now
        assert join(make_api, UserFactory(), tier).status_code == 201

    def test_joining_twice_returns_the_same_entry(self, make_api, tier, sandbox):
        sell_out(tier)
        u = UserFactory()
        first = join(make_api, u, tier)
        again = join(make_api, u, tier)
        assert again.status_code == 200 and again.json()["id"] == first.json()["id"]
        assert WaitlistEntry.objects.filter(user=u).count() == 1

    @pytest.mark.parametrize("body", [{"quantity": 0}, {"quantity": 11}, {"quantity": "two"}, {"quantity": True}])
    def test_bad_quantities_are_400_and_change_nothing(self, make_api, tier, sandbox, body):
        sell_out(tier)
        r = join(make_api, UserFactory(), tier, **body)
        assert r.status_code == 400 and r.json()["code"] == "invalid"
        assert not WaitlistEntry.objects.exists()

    def test_unknown_tier_is_404_and_anonymous_is_401(self, api, make_api, tier):
        assert join(make_api, UserFactory(), type("T", (), {"pk": "tier_nope"})).status_code == 404
        assert api.post(f"/api/v1/tiers/{tier.pk}/waitlist", {}, format="json").status_code == 401

    def test_my_waitlist_and_leaving(self, make_api, api, tier, sandbox):
        sell_out(tier)
        u, other = UserFactory(), UserFactory()
        entry_id = join(make_api, u, tier).json()["id"]
        mine = make_api(u).get("/api/v1/me/waitlist").json()["results"]
        assert [(e["id"], e["tier"], e["event"], e["status"]) for e in mine] == [
            (entry_id, tier.pk, tier.event_id, "waiting")]
        assert make_api(other).get("/api/v1/me/waitlist").json()["results"] == []
        assert make_api(other).delete(f"/api/v1/waitlist/{entry_id}").status_code == 404
        assert api.delete(f"/api/v1/waitlist/{entry_id}").status_code == 401
        assert make_api(u).delete(f"/api/v1/waitlist/{entry_id}").status_code == 204
        assert make_api(u).get("/api/v1/me/waitlist").json()["results"][0]["status"] == "left"
        # Having left, they may join again: at the back of the line.
        assert join(make_api, u, tier).status_code == 201


@pytest.mark.django_db
class TestOffers:
    def test_cancelled_order_goes_to_the_first_in_line_by_email(self, make_api, tier, settings):
        settings.WAITLIST_OFFER_SECONDS = 1800
        order = buy(tier, 2)
        first, second = UserFactory(), UserFactory()
        join(make_api, first, tier)
        join(make_api, second, tier)
        mail.outbox.clear()
        with django_capture_on_commit():
            services.cancel(order.pk, actor=SYSTEM)
        e1 = WaitlistEntry.objects.get(user=first)
        assert e1.status == "offered" and e1.order is not None
        offer = e1.order
        assert offer.buyer == first and offer.status == "reserved"
        assert abs((offer.expires_at - timezone.now()) - timedelta(seconds=1800)) < timedelta(seconds=30)
        # The second person also fits (2 came back, each wants 1).
        assert WaitlistEntry.objects.get(user=second).status == "offered"
        assert sorted(m.to[0] for m in mail.outbox) == sorted([first.email, second.email])
        assert offer.get_absolute_url() in mail.outbox[0].body or offer.get_absolute_url() in mail.outbox[1].body
        listed = make_api(first).get("/api/v1/me/waitlist").json()["results"][0]
        assert listed["status"] == "offered" and listed["order"] == offer.pk and listed["offer_expires_at"]

    def test_nobody_else_can_buy_during_an_offer_or_while_people_wait(self, make_api, tier):
        order = buy(tier, 2)
        first, second = UserFactory(), UserFactory()
        join(make_api, first, tier, quantity=2)
        join(make_api, second, tier)
        Order.objects.filter(pk=order.pk).update(expires_at=timezone.now() - timedelta(seconds=1))
        Hold.objects.filter(order=order).update(expires_at=timezone.now() - timedelta(seconds=1))
        # A stranger comes first: the lapsed tickets go to the line (on demand), and the stranger gets sold_out.
        with pytest.raises(Conflict) as exc:
            buy(tier, 1)
        assert exc.value.code == "sold_out"
        assert WaitlistEntry.objects.get(user=first).status == "offered"
        assert WaitlistEntry.objects.get(user=second).status == "waiting"
        detail = make_api(UserFactory()).get(f"/api/v1/events/{tier.event_id}").json()
        assert [t["available"] for t in detail["tiers"] if t["id"] == tier.pk] == [0]

    def test_refused_buyers_promote_the_line_at_most_once_a_second(self, make_api, tier):
        """In a rush with people waiting, each refused buyer used to run a promotion (the tier's row lock,
        in turn); now one a second does, and a hold lapsing meanwhile still reaches the line then."""
        order = buy(tier, 2)
        join(make_api, UserFactory(), tier, quantity=2)
        with mock.patch("events.waitlist.promote", wraps=waitlist.promote) as promoted:
            for _ in range(20):
                with pytest.raises(Conflict) as exc:
                    buy(tier, 1)
                assert exc.value.code == "sold_out"
            assert promoted.call_count == 1
            Hold.objects.filter(order=order).update(expires_at=timezone.now() - timedelta(seconds=1))
            cache.delete(f"waitlist:promoted:{tier.pk}")  # a second later (the cache's own clock)
            later = timezone.now() + timedelta(seconds=1.1)
            with mock.patch("django.utils.timezone.now", return_value=later), pytest.raises(Conflict):
                buy(tier, 1)
        assert promoted.call_count == 2
        assert WaitlistEntry.objects.get(tier=tier).status == "offered"

    def test_first_in_line_is_never_skipped_for_a_smaller_wish(self, make_api, tier, sandbox):
        sell_out(tier)  # one order of 2
        big, small = UserFactory(), UserFactory()
        join(make_api, big, tier, quantity=2)
        join(make_api, small, tier)
        update_tier(tier, quantity=3, actor=SYSTEM)  # one more ticket: not enough for the first in line
        waitlist.promote(tier.pk)
        assert WaitlistEntry.objects.get(user=big).status == "waiting"
        assert WaitlistEntry.objects.get(user=small).status == "waiting"
        with pytest.raises(Conflict):  # and nobody outside the line takes that ticket either
            buy(tier, 1)

    def test_creator_adding_quantity_makes_offers(self, make_api, tier, sandbox):
        sell_out(tier)
        u = UserFactory()
        join(make_api, u, tier)
        with django_capture_on_commit():
            update_tier(tier, quantity=3, actor=SYSTEM)
        assert WaitlistEntry.objects.get(user=u).status == "offered"

    def test_refund_makes_an_offer_and_paying_it_is_bought(self, make_api, tier, sandbox):
        order = sell_out(tier)
        u = UserFactory()
        join(make_api, u, tier, quantity=2)
        with django_capture_on_commit():
            services.refund(order.pk, actor=SYSTEM)
        entry = WaitlistEntry.objects.get(user=u)
        assert entry.status == "offered"
        r = make_api(u).post(f"/api/v1/orders/{entry.order_id}/sandbox-pay")
        assert r.status_code == 200 and r.json()["status"] == "paid"
        entry.refresh_from_db()
        assert entry.status == "bought"
        assert entry.order.lines.get().tickets.count() == 2

    def test_an_offer_not_taken_passes_to_the_next_person(self, make_api, tier, sandbox):
        sell_out(tier)
        first, second = UserFactory(), UserFactory()
        join(make_api, first, tier, quantity=2)
        join(make_api, second, tier, quantity=2)
        update_tier(tier, quantity=4, actor=SYSTEM)
        waitlist.promote(tier.pk)
        e1 = WaitlistEntry.objects.get(user=first)
        assert e1.status == "offered"
        past = timezone.now() - timedelta(seconds=1)
        WaitlistEntry.objects.filter(pk=e1.pk).update(offer_expires_at=past)
        Order.objects.filter(pk=e1.order_id).update(expires_at=past)
        Hold.objects.filter(order_id=e1.order_id).update(expires_at=past)
        # The clock moved by hand in the database: say so to the sold-out snapshot (it ends by the clock).
        stock_snapshot.forget(Hold.objects.filter(order_id=e1.order_id).values_list("inventory__key", flat=True))
        # Before the beat task runs, the owner already sees it expired (by the clock).
        assert make_api(first).get("/api/v1/me/waitlist").json()["results"][0]["status"] == "expired"
        assert promote_waiting_lists() == 1  # the beat task, under the name the schedule sends
        assert WaitlistEntry.objects.get(pk=e1.pk).status == "expired"
        e2 = WaitlistEntry.objects.get(user=second)
        assert e2.status == "offered"
        # Checking out the expired offer is refused the usual way.
        r = make_api(first).post(f"/api/v1/orders/{e1.order_id}/checkout")
        assert r.status_code == 409 and r.json()["code"] == "expired"

    def test_declining_by_cancelling_or_leaving_passes_it_on(self, make_api, tier, sandbox):
        sell_out(tier)
        users = [UserFactory() for _ in range(3)]
        for u in users:
            join(make_api, u, tier, quantity=2)
        update_tier(tier, quantity=4, actor=SYSTEM)
        waitlist.promote(tier.pk)
        e0 = WaitlistEntry.objects.get(user=users[0])
        with django_capture_on_commit():
            assert make_api(users[0]).post(f"/api/v1/orders/{e0.order_id}/cancel").status_code == 200
        assert WaitlistEntry.objects.get(pk=e0.pk).status == "left"
        e1 = WaitlistEntry.objects.get(user=users[1])
        assert e1.status == "offered"
        with django_capture_on_commit():
            assert make_api(users[1]).delete(f"/api/v1/waitlist/{e1.pk}").status_code == 204
        assert Order.objects.get(pk=e1.order_id).status == "cancelled"
        assert WaitlistEntry.objects.get(user=users[2]).status == "offered"

    def test_the_beat_task_is_scheduled_under_its_name(self, settings):
        from microstage.celery import app

        names = {e["task"] for e in settings.CELERY_BEAT_SCHEDULE.values()}
        assert "events.promote_waiting_lists" in names
        assert "events.promote_waiting_lists" in app.tasks


class django_capture_on_commit:  # noqa: N801 - reads as a context manager
    """Run on_commit callbacks inside a test transaction (pytest-django's fixture, usable inline)."""

    def __enter__(self):
        from django.test import TestCase

        self._ctx = TestCase.captureOnCommitCallbacks(execute=True)
        return self._ctx.__enter__()

    def __exit__(self, *exc):
        return self._ctx.__exit__(*exc)


# --- concurrency --------------------------------------------------------------------------------

@pytest.mark.django_db(transaction=True)
def test_simultaneous_joins_get_distinct_places_in_order(make_api, sandbox):
    tier = TierFactory(quantity=1)
    sell_out(tier)
    people = [UserFactory() for _ in range(12)]
    results, errors = run_together([lambda u=u: waitlist.join(tier_id=tier.pk, user=u) for u in people])
    assert not errors, errors
    numbers = sorted(WaitlistEntry.objects.filter(tier=tier).values_list("number", flat=True))
    assert numbers == list(range(1, 13))
    positions = sorted(waitlist.position_of(e) for e in WaitlistEntry.objects.filter(tier=tier))
    assert positions == list(range(1, 13))
    # The same person pressing twice at once still has one entry.
    u = UserFactory()
    results, errors = run_together([lambda: waitlist.join(tier_id=tier.pk, user=u)] * 4)
    assert not errors, errors
    assert WaitlistEntry.objects.filter(tier=tier, user=u).count() == 1


@pytest.fixture
def slow_numbering(monkeypatch):
    """Dawdle after reading the last place number, inside join's transaction (and its lock, if any)."""
    import time

    from django.db.models.query import QuerySet

    original = QuerySet.aggregate

    def slow(self, *args, **kwargs):
        result = original(self, *args, **kwargs)
        if self.model is WaitlistEntry:
            time.sleep(0.05)
        return result

    monkeypatch.setattr(QuerySet, "aggregate", slow)


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("locked", [True, False])
def test_places_are_fair_only_because_of_the_tier_lock(monkeypatch, sandbox, slow_numbering, locked):
    """As pretix's concurrency tests do: the same rush with the row lock (1..n, nobody refused) and
    with it patched away (two people read the same last number; one of them fails)."""
    from events.models import TicketTier

    tier = TierFactory(quantity=1)
    sell_out(tier)
    if not locked:
        monkeypatch.setattr(TicketTier.objects, "select_for_update", lambda *a, **kw: TicketTier.objects.all())
    people = [UserFactory() for _ in range(6)]
    results, errors = run_together([lambda u=u: waitlist.join(tier_id=tier.pk, user=u) for u in people])
    numbers = sorted(WaitlistEntry.objects.filter(tier=tier).values_list("number", flat=True))
    if locked:
        assert not errors and numbers == list(range(1, 7))
    else:
        assert errors and len(numbers) < 6


@pytest.mark.django_db(transaction=True)
def test_simultaneous_returns_offer_each_ticket_once_in_line_order(sandbox):
    tier = TierFactory(quantity=6)
    orders = [buy(tier, 1) for _ in range(6)]
    for o in orders:
        services.sandbox_pay(o.pk)
    people = [UserFactory() for _ in range(8)]
    for u in people:
        waitlist.join(tier_id=tier.pk, user=u)
    # Six refunds at once, each promoting the line as it commits.
    results, errors = run_together([lambda o=o: services.refund(o.pk, actor=SYSTEM) for o in orders])
    assert not errors, errors
    waitlist.promote(tier.pk)  # whatever a racing hook left for the next run (the beat task)
    entries = list(WaitlistEntry.objects.filter(tier=tier).order_by("number"))
    assert [e.status for e in entries] == ["offered"] * 6 + ["waiting"] * 2
    assert len({e.order_id for e in entries[:6]}) == 6
    held = sum(h.quantity for h in Hold.objects.filter(order__in=[e.order_id for e in entries[:6]],
                                                       status=Hold.Status.ACTIVE, inventory__key=f"tier:{tier.pk}"))
    assert held == 6
    with pytest.raises(Conflict):
        buy(tier, 1)


@pytest.mark.django_db
def test_team_sees_the_list_on_the_dashboard(client, make_api, sandbox):
    tier = TierFactory(quantity=1)
    sell_out(tier)
    owner = team_member(tier.event.creator)
    fan = UserFactory()
    waitlist.join(tier_id=tier.pk, user=fan)
    client.force_login(owner)
    r = client.get(f"/dashboard/events/{tier.event_id}/waitlist/")
    assert r.status_code == 200
    assert fan.email in r.content.decode()
    client.force_login(fan)
    assert client.get(f"/dashboard/events/{tier.event_id}/waitlist/").status_code == 404


@pytest.mark.django_db
class TestPages:
    def test_sold_out_tier_page_offers_the_list_and_shows_my_place(self, client, sandbox):
        tier = TierFactory(quantity=1)
        sell_out(tier)
        url = tier.event.get_absolute_url()
        first = UserFactory()
        waitlist.join(tier_id=tier.pk, user=first)
        page = client.get(url).content.decode()
        assert "Sold out — join the waiting list" in page
        fan = UserFactory()
        client.force_login(fan)
        r = client.post(f"{url}tiers/{tier.pk}/waitlist/", {f"wlqty_{tier.pk}": "2"}, follow=True)
        body = r.content.decode()
        assert "number 2 in line" in body and "You're number 2 in line" in body
        assert WaitlistEntry.objects.get(user=fan).quantity == 2
        mine = client.get("/waitlist/").content.decode()
        assert "Number 2 in line" in mine
        entry = WaitlistEntry.objects.get(user=fan)
        client.post(f"/waitlist/{entry.pk}/leave/", {"next": "/waitlist/"})
        assert WaitlistEntry.objects.get(pk=entry.pk).status == "left"

    def test_bad_quantity_and_open_tier_change_nothing(self, client):
        tier = TierFactory(quantity=5)
        client.force_login(UserFactory())
        url = f"{tier.event.get_absolute_url()}tiers/{tier.pk}/waitlist/"
        r = client.post(url, {f"wlqty_{tier.pk}": "x"}, follow=True)
        assert "Choose how many" in r.content.decode()
        r = client.post(url, {}, follow=True)
        assert "not sold out" in r.content.decode()
        assert not WaitlistEntry.objects.exists()

    def test_anonymous_is_sent_to_log_in(self, client, sandbox):
        tier = TierFactory(quantity=1)
        sell_out(tier)
        r = client.post(f"{tier.event.get_absolute_url()}tiers/{tier.pk}/waitlist/")
        assert r.status_code == 302 and "login" in r["Location"]


@pytest.mark.django_db
def test_demo_data_has_a_waiting_list_and_a_bundle(settings):
    import io

    from django.core.management import call_command

    from events.demo import DEMO_EVENT_SLUG, WAITLIST_EVENT_SLUG
    from events.models import Bundle, Event

    settings.PAYMENTS_PROVIDER = "sandbox"
    call_command("demo", stdout=io.StringIO())
    call_command("demo", stdout=io.StringIO())  # twice: nothing doubles
    show = Event.objects.get(slug=WAITLIST_EVENT_SLUG)
    (entry,) = WaitlistEntry.objects.filter(tier__event=show)
    assert entry.status == "waiting" and entry.user.email == "fan@demo.microstage.dev"
    (bundle,) = Bundle.objects.all()
    assert bundle.items.filter(tier__event__slug=DEMO_EVENT_SLUG).exists() and bundle.credit > 0



def test_an_offer_goes_through_notifications_by_sms_too(make_api, tier, settings):
    """The offer is a message that matters: recorded, and sent by SMS as well to those who chose it."""
    from microstage.notifications.models import Notification, NotificationPreference

    order = sell_out(tier, sandbox_pay=False)
    waiting = UserFactory()
    NotificationPreference.objects.create(user=waiting, email=True, sms=True, phone="+4915112345678",
                                          phone_confirmed_at=timezone.now())
    join(make_api, waiting, tier)
    with django_capture_on_commit():
        services.cancel(order.pk, actor=SYSTEM)
    assert WaitlistEntry.objects.get(user=waiting).status == "offered"
    sent = Notification.objects.filter(user=waiting, kind="waitlist_offer")
    assert {n.channel for n in sent} == {"email", "sms"}
