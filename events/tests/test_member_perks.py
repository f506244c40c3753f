"""Member perks on tickets, enforced in ticket_offer and seen on the landing page, the tier picker and the
API: early access, members-only tiers and events, member discounts, passes and discount codes instead
of money, loyalty points at the door — and none of it once the membership has ended."""
import json
import re
from datetime import timedelta
from decimal import Decimal

import pytest
from django.test import Client
from django.utils import timezone

from commerce import services as commerce
from commerce.models import Order
from commerce.services import LineRequest
from events.models import Event, Ticket
from events.models import TICKET_KIND
from events.selectors import member_price
from events.services.checkin import check_in
from events.services.tickets import qr_payload
from memberships import referrals, services as memberships
from memberships.models import (LoyaltyAccount, LoyaltyEntry, Membership, MembershipPlan, Pass, PassProduct,
                                Referral, Reward, RewardRedemption)
from microstage.errors import Conflict
from microstage.models import Role
from microstage.tests.factories import CreatorFactory, UserFactory, team_member

from .factories import EventFactory, TierFactory
from microstage.permissions import SYSTEM

pytestmark = pytest.mark.django_db


# --- helpers ---------------------------------------------------------------------------------

def make_plan(creator, **perks) -> MembershipPlan:
    return MembershipPlan.objects.create(creator=creator, name="Fan club", price=Decimal("5.00"), currency="EUR",
                                         **perks)


def join(plan, fan=None) -> Membership:
    return Membership.objects.create(plan=plan, creator=plan.creator, user=fan or UserFactory(),
                                     status=Membership.Status.ACTIVE, started_at=timezone.now(),
                                     current_period_end=timezone.now() + timedelta(days=30))


def end(membership: Membership) -> Membership:
    membership.status = Membership.Status.ENDED
    membership.ended_at = timezone.now()
    membership.save()
    return membership


def api_for(user):
    from rest_framework.test import APIClient

    client = APIClient()
    client.force_authenticate(user)
    return client


def order_line(tier, quantity=1, **extra) -> dict:
    return {"tier": tier.pk, "quantity": quantity, **extra}


def post_order(client, *lines):
    return client.post("/api/v1/orders", data=json.dumps({"lines": list(lines)}), content_type="application/json")


def page_client(user=None) -> Client:
    client = Client()
    if user is not None:
        client.force_login(user)
    return client


def reserve(tier, buyer, quantity=1, **options) -> Order:
    return commerce.reserve(requests=[LineRequest(TICKET_KIND, tier.pk, quantity, tuple(options.items()))],
                            buyer=buyer)


@pytest.fixture
def sandbox(settings):
    settings.PAYMENTS_PROVIDER = "sandbox"
    return settings


@pytest.fixture
def creator():
    return CreatorFactory()


@pytest.fixture
def event(creator):
    return EventFactory(creator=creator)


# --- early access ----------------------------------------------------------------------------

class TestEarlyAccess:
    @pytest.fixture
    def tier(self, event):
        return TierFactory(event=event, sales_start=timezone.now() + timedelta(hours=10))

    def test_members_with_enough_hours_buy_now_others_hear_members_only(self, creator, tier):
        fan = join(make_plan(creator, early_access_hours=24)).user
        r = post_order(api_for(fan), order_line(tier))
        assert r.status_code == 201, r.content
        r = post_order(api_for(UserFactory()), order_line(tier))
        assert r.status_code == 409 and r.json()["code"] == "members_only"

    def test_too_few_hours_is_not_on_sale_for_everyone(self, creator, tier):
        fan = join(make_plan(creator, early_access_hours=5)).user
        for buyer in (fan, UserFactory()):
            r = post_order(api_for(buyer), order_line(tier))
            assert r.status_code == 409 and r.json()["code"] == "not_on_sale"

    def test_an_ended_membership_loses_early_access(self, creator, tier):
        membership = join(make_plan(creator, early_access_hours=24))
        end(membership)
        r = post_order(api_for(membership.user), order_line(tier))
        assert r.status_code == 409 and r.json()["code"] == "members_only"

    def test_a_cancelled_membership_keeps_it_to_period_end_then_not(self, creator, tier):
        membership = join(make_plan(creator, early_access_hours=24))
        membership.status = Membership.Status.CANCELLED
        membership.save()
        assert post_order(api_for(membership.user), order_line(tier)).status_code == 201
        membership.current_period_end = timezone.now() - timedelta(seconds=1)
        membership.save()
        assert post_order(api_for(membership.user), order_line(tier)).json()["code"] == "members_only"

    def test_another_creators_membership_does_not_count(self, tier):
        fan = join(make_plan(CreatorFactory(), early_access_hours=24)).user
        make_plan(tier.event.creator, early_access_hours=24)
        r = post_order(api_for(fan), order_line(tier))
        assert r.status_code == 409 and r.json()["code"] == "members_only"

    def test_the_tier_picker(self, creator, event, tier):
        fan = join(make_plan(creator, early_access_hours=24)).user
        page = page_client(fan).get(event.get_absolute_url()).content.decode()
        assert f'name="qty_{tier.pk}"' in page and "Member early access" in page
        outsider = UserFactory()
        page = page_client(outsider).get(event.get_absolute_url()).content.decode()
        assert f'name="qty_{tier.pk}"' not in page and "Members only — everyone from" in page
        r = page_client(outsider).post(f"/e/{event.slug}/reserve/", {f"qty_{tier.pk}": "1"}, follow=True)
        assert "members" in r.content.decode().lower() and "Nothing was reserved" in r.content.decode()
        assert not Order.objects.filter(buyer=outsider).exists()
        r = page_client(fan).post(f"/e/{event.slug}/reserve/", {f"qty_{tier.pk}": "2"})
        assert r.status_code == 302 and Order.objects.get(buyer=fan).lines.get().quantity == 2

    def test_the_api_event_shows_on_sale_for_the_caller(self, creator, event, tier):
        fan = join(make_plan(creator, early_access_hours=24)).user
        tiers = api_for(fan).get(f"/api/v1/events/{event.pk}").json()["tiers"]
        assert tiers[0]["on_sale"] is True
        tiers = api_for(UserFactory()).get(f"/api/v1/events/{event.pk}").json()["tiers"]
        assert tiers[0]["on_sale"] is False


class TestMembersOnlyUntil:
    @pytest.fixture
    def tier(self, event):
        return TierFactory(event=event, members_only_until=timezone.now() + timedelta(hours=2))

    def test_only_members_buy_until_then(self, creator, tier):
        membership = join(make_plan(creator))
        assert post_order(api_for(membership.user), order_line(tier)).status_code == 201
        r = post_order(api_for(UserFactory()), order_line(tier))
        assert r.status_code == 409 and r.json()["code"] == "members_only"
        end(membership)
        assert post_order(api_for(membership.user), order_line(tier)).json()["code"] == "members_only"

    def test_after_the_window_everyone_buys(self, tier):
        tier.members_only_until = timezone.now() - timedelta(minutes=1)
        tier.save()
        assert post_order(api_for(UserFactory()), order_line(tier)).status_code == 201

    def test_the_tier_picker_says_members_only(self, event, tier):
        page = page_client(UserFactory()).get(event.get_absolute_url()).content.decode()
        assert "Members only until" in page and f'name="qty_{tier.pk}"' not in page
        page = page_client().get(event.get_absolute_url()).content.decode()  # anonymous too
        assert "Members only until" in page


# --- member discount -------------------------------------------------------------------------

class TestMemberDiscount:
    def test_price_list_price_and_order_discount(self, creator, event):
        tier = TierFactory(event=event, price=Decimal("20.00"))
        membership = join(make_plan(creator, discount_percent=Decimal("15")))
        r = post_order(api_for(membership.user), order_line(tier, 3))
        assert r.status_code == 201, r.content
        body = r.json()
        line = body["lines"][0]
        assert (line["unit_price"], line["list_price"]) == ("17.00", "20.00")
        order = Order.objects.get(pk=body["id"])
        assert (order.subtotal, order.discount, order.total) == (Decimal("60.00"), Decimal("9.00"),
                                                                 Decimal("51.00"))

    def test_rounding_is_half_up_to_the_cent(self):
        assert member_price(Decimal("0.30"), Decimal("25")) == Decimal("0.23")  # 0.225, half-even would give 0.22
        assert member_price(Decimal("9.99"), Decimal("12.5")) == Decimal("8.74")
        assert member_price(Decimal("20.00"), Decimal("100")) == Decimal("0.00")
        assert member_price(Decimal("0.00"), Decimal("50")) == Decimal("0.00")

    def test_no_discount_once_the_membership_ends(self, creator, event):
        tier = TierFactory(event=event, price=Decimal("20.00"))
        membership = end(join(make_plan(creator, discount_percent=Decimal("15"))))
        line = post_order(api_for(membership.user), order_line(tier)).json()["lines"][0]
        assert line["unit_price"] == line["list_price"] == "20.00"

    def test_the_landing_page_and_api_show_the_member_price(self, creator, event):
        tier = TierFactory(event=event, price=Decimal("20.00"))
        fan = join(make_plan(creator, discount_percent=Decimal("10"))).user
        page = page_client(fan).get(event.get_absolute_url()).content.decode()
        assert "Member price" in page and "18.00" in page
        assert "Member price" not in page_client(UserFactory()).get(event.get_absolute_url()).content.decode()
        assert api_for(fan).get(f"/api/v1/events/{event.pk}").json()["tiers"][0]["member_price"] == "18.00"
        assert api_for(UserFactory()).get(f"/api/v1/events/{event.pk}").json()["tiers"][0]["member_price"] == \
            "20.00"
        r = page_client(fan).post(f"/e/{event.slug}/reserve/", {f"qty_{tier.pk}": "1"})
        assert r.status_code == 302 and Order.objects.get(buyer=fan).total == Decimal("18.00")


# --- members-only events ---------------------------------------------------------------------

class TestMembersOnlyEvents:
    @pytest.fixture
    def secret(self, creator):
        event = EventFactory(creator=creator, members_only=True, title="Secret set")
        TierFactory(event=event)
        return event

    @pytest.fixture
    def fan(self, creator):
        return join(make_plan(creator, members_only_events=True)).user

    def sees(self, user, event) -> dict:
        client, api = page_client(user), api_for(user) if user else None
        from rest_framework.test import APIClient

        api = api or APIClient()
        return {
            "discover": event.title in client.get("/").content.decode(),
            "creator_page": event.title in client.get(f"/c/{event.creator.slug}/").content.decode(),
            "landing": client.get(event.get_absolute_url()).status_code == 200,
            "availability": client.get(f"/e/{event.slug}/availability/").status_code == 200,
            "api_list": any(e["id"] == event.pk for e in api.get("/api/v1/events").json()["results"]),
            "api_detail": api.get(f"/api/v1/events/{event.pk}").status_code == 200,
        }

    def test_members_with_the_perk_and_the_team_see_it(self, creator, secret, fan):
        assert all(self.sees(fan, secret).values())
        door = team_member(creator, Role.DOOR)
        assert all(self.sees(door, secret).values())

    def test_everyone_else_does_not(self, creator, secret):
        plain_member = join(make_plan(creator, members_only_events=False)).user
        for user in (None, UserFactory(), plain_member):
            seen = self.sees(user, secret)
            assert not any(seen.values()), seen
        assert Client().get(secret.get_absolute_url()).status_code == 404
        assert Client().get(f"/e/{secret.slug}/event.ics").status_code == 404

    def test_not_once_the_membership_ends(self, creator, secret, fan):
        end(Membership.objects.get(user=fan))
        assert not any(self.sees(fan, secret).values())

    def test_the_public_list_stays_public_the_members_list_private(self, secret, fan):
        from rest_framework.test import APIClient

        r = APIClient().get("/api/v1/events")
        assert "public" in r["Cache-Control"] and secret.pk not in r.content.decode()
        r = api_for(fan).get("/api/v1/events")
        assert "private" in r["Cache-Control"] and secret.pk in r.content.decode()

    def test_a_token_is_enough_to_list_it(self, secret, fan):
        from rest_framework.authtoken.models import Token
        from rest_framework.test import APIClient

        token = Token.objects.create(user=fan)
        r = APIClient().get("/api/v1/events", HTTP_AUTHORIZATION=f"Token {token.key}")
        assert secret.pk in r.content.decode()

    def test_buying_needs_the_membership(self, creator, secret, fan):
        tier = secret.tiers.get()
        assert post_order(api_for(fan), order_line(tier)).status_code == 201
        for buyer in (UserFactory(), team_member(creator, Role.MANAGER)):
            r = post_order(api_for(buyer), order_line(tier))
            assert r.status_code == 409 and r.json()["code"] == "members_only"
        end(Membership.objects.get(user=fan))
        assert post_order(api_for(fan), order_line(tier)).json()["code"] == "members_only"

    def test_set_in_the_dashboard_form(self, creator, event):
        from .test_dashboard import event_data

        client = page_client(team_member(creator, Role.OWNER))
        page = client.get(f"/dashboard/events/{event.pk}/edit/").content.decode()
        assert 'name="members_only"' in page and "Members only" in page
        r = client.post(f"/dashboard/events/{event.pk}/edit/", event_data(members_only="on"))
        assert r.status_code == 302, r.content.decode()[:2000]
        event.refresh_from_db()
        assert event.members_only is True
        page = client.get(f"/dashboard/events/{event.pk}/edit/").content.decode()
        assert re.search(r'<input type="checkbox" name="members_only"[^>]*checked', page)
        client.post(f"/dashboard/events/{event.pk}/edit/", event_data())
        event.refresh_from_db()
        assert event.members_only is False

    def test_set_through_the_api(self, creator):
        owner = team_member(creator, Role.OWNER)
        start = timezone.now() + timedelta(days=5)
        r = api_for(owner).post("/api/v1/events", data=json.dumps({
            "creator": creator.pk, "title": "Members night", "starts_at": start.isoformat(),
            "ends_at": (start + timedelta(hours=2)).isoformat(), "online": True, "members_only": True}),
            content_type="application/json")
        assert r.status_code == 201, r.content
        event = Event.objects.get(pk=r.json()["id"])
        assert event.members_only is True
        r = api_for(owner).patch(f"/api/v1/events/{event.pk}", data=json.dumps({"members_only": False}),
                                 content_type="application/json")
        assert r.status_code == 200 and r.json()["members_only"] is False
        r = api_for(owner).patch(f"/api/v1/events/{event.pk}", data=json.dumps({"members_only": "maybe"}),
                                 content_type="application/json")
        assert r.status_code == 400 and "members_only" in r.json()["fields"]


# --- passes ------------------------------------------------------------------------------------

def make_pass(creator, user, credits=3, expires_in=timedelta(days=30)) -> Pass:
    product = PassProduct.objects.create(creator=creator, name="Five shows", credits=credits,
                                         price=Decimal("50.00"), currency="EUR")
    return Pass.objects.create(creator=creator, user=user, product=product, credits_total=credits,
                               credits_left=credits, expires_at=timezone.now() + expires_in,
                               order_line_id=f"test-{product.pk}")


class TestPassBoughtThroughCommerce:
    def test_buy_a_pass_then_redeem_it(self, sandbox, creator, event):
        product = PassProduct.objects.create(creator=creator, name="Three shows", credits=3,
                                             price=Decimal("45.00"), currency="EUR", valid_days=90)
        fan = UserFactory()
        r = post_order(api_for(fan), {"pass_product": product.pk, "quantity": 1})
        assert r.status_code == 201, r.content
        assert r.json()["total"] == "45.00" and r.json()["lines"][0]["pass_product"] == product.pk
        api_for(fan).post(f"/api/v1/orders/{r.json()['id']}/sandbox-pay")
        pass_obj = Pass.objects.get(user=fan)
        assert (pass_obj.credits_total, pass_obj.credits_left) == (3, 3)
        assert abs(pass_obj.expires_at - (timezone.now() + timedelta(days=90))) < timedelta(minutes=1)
        tier = TierFactory(event=event, price=Decimal("20.00"))
        r = post_order(api_for(fan), order_line(tier, 2, **{"pass": pass_obj.pk}))
        assert r.status_code == 201, r.content
        assert r.json()["total"] == "0.00" and r.json()["lines"][0]["list_price"] == "20.00"
        assert r.json()["lines"][0]["options"] == {"pass": pass_obj.pk}
        r = api_for(fan).post(f"/api/v1/orders/{r.json()['id']}/checkout")
        assert r.status_code == 200 and r.json()["status"] == "paid"
        pass_obj.refresh_from_db()
        assert pass_obj.credits_left == 1
        assert Ticket.objects.filter(holder=fan, tier=tier).count() == 2

    def test_more_than_one_pass_per_line_or_anonymous_is_refused(self, creator):
        product = PassProduct.objects.create(creator=creator, name="Three", credits=3, price=Decimal("45.00"),
                                             currency="EUR")
        r = post_order(api_for(UserFactory()), {"pass_product": product.pk, "quantity": 2})
        assert r.status_code == 409 and r.json()["code"] == "limit_exceeded"
        r = post_order(api_for(UserFactory()), {"pass_product": "pp_nothing", "quantity": 1})
        assert r.status_code == 404


class TestRedeemingAPass:
    @pytest.fixture
    def fan(self):
        return UserFactory()

    @pytest.fixture
    def tier(self, event):
        return TierFactory(event=event, price=Decimal("20.00"))

    def test_exhausted_is_409(self, creator, fan, tier):
        pass_obj = make_pass(creator, fan, credits=1)
        r = post_order(api_for(fan), order_line(tier, 2, **{"pass": pass_obj.pk}))
        assert r.status_code == 409 and r.json()["code"] == "no_credits"

    def test_credits_held_by_an_open_reservation_are_not_offered_twice(self, creator, fan, tier):
        pass_obj = make_pass(creator, fan, credits=2)
        assert post_order(api_for(fan), order_line(tier, 2, **{"pass": pass_obj.pk})).status_code == 201
        r = post_order(api_for(fan), order_line(tier, 1, **{"pass": pass_obj.pk}))
        assert r.status_code == 409 and r.json()["code"] == "no_credits"

    def test_expired_is_409(self, creator, fan, tier):
        pass_obj = make_pass(creator, fan, expires_in=-timedelta(minutes=1))
        r = post_order(api_for(fan), order_line(tier, 1, **{"pass": pass_obj.pk}))
        assert r.status_code == 409 and r.json()["code"] == "pass_expired"

    def test_someone_elses_pass_is_404_another_creators_400(self, creator, fan, tier):
        theirs = make_pass(creator, UserFactory())
        r = post_order(api_for(fan), order_line(tier, 1, **{"pass": theirs.pk}))
        assert r.status_code == 404 and r.json()["code"] == "not_found"
        other = make_pass(CreatorFactory(), fan)
        r = post_order(api_for(fan), order_line(tier, 1, **{"pass": other.pk}))
        assert r.status_code == 400 and r.json()["code"] == "invalid"
        r = post_order(api_for(fan), order_line(tier, 1, **{"pass": "pass_unknown"}))
        assert r.status_code == 404
        assert not Order.objects.exists()

    @pytest.mark.parametrize("quantity", [-1, 0, 101, 10**12, "2", None, 1.5])
    def test_bad_quantities_with_a_pass_are_400(self, creator, fan, tier, quantity):
        pass_obj = make_pass(creator, fan)
        r = post_order(api_for(fan), order_line(tier, quantity, **{"pass": pass_obj.pk}))
        if quantity == "2":  # DRF reads a numeric string as a number
            assert r.status_code == 201
            return
        assert r.status_code == 400, r.content
        assert r.json()["code"] == "invalid"

    @pytest.mark.parametrize("extra, field", [({"pass": "x", "code": "y"}, "code"), ({"pass": ""}, "pass"),
                                              ({"code": "x" * 41}, "code")])
    def test_bad_option_fields_are_400(self, tier, fan, extra, field):
        r = post_order(api_for(fan), order_line(tier, 1, **extra))
        assert r.status_code == 400 and r.json()["code"] == "invalid", r.content

    def test_pass_and_tier_limit_still_apply(self, creator, fan, tier):
        tier.max_per_order = 2
        tier.save()
        pass_obj = make_pass(creator, fan, credits=5)
        r = post_order(api_for(fan), order_line(tier, 3, **{"pass": pass_obj.pk}))
        assert r.status_code == 409 and r.json()["code"] == "limit_exceeded"

    def test_credits_gone_by_checkout_fail_it_cleanly(self, creator, fan, tier):
        pass_obj = make_pass(creator, fan, credits=1)
        order_id = post_order(api_for(fan), order_line(tier, 1, **{"pass": pass_obj.pk})).json()["id"]
        memberships.use_pass_credits(pass_id=pass_obj.pk, user=fan, order_line_id="elsewhere")
        r = api_for(fan).post(f"/api/v1/orders/{order_id}/checkout")
        assert r.status_code == 409 and r.json()["code"] == "no_credits"
        assert Order.objects.get(pk=order_id).status == Order.Status.RESERVED
        assert not Ticket.objects.exists()

    def test_refund_gives_the_credits_back_once(self, creator, fan, tier):
        pass_obj = make_pass(creator, fan, credits=3)
        order_id = post_order(api_for(fan), order_line(tier, 2, **{"pass": pass_obj.pk})).json()["id"]
        api_for(fan).post(f"/api/v1/orders/{order_id}/checkout")
        pass_obj.refresh_from_db()
        assert pass_obj.credits_left == 1
        owner = team_member(creator, Role.OWNER)
        r = api_for(owner).post(f"/api/v1/orders/{order_id}/refund", data="{}", content_type="application/json")
        assert r.status_code == 200, r.content
        pass_obj.refresh_from_db()
        assert pass_obj.credits_left == 3
        assert not Ticket.objects.filter(status=Ticket.Status.VALID).exists()
        r = api_for(owner).post(f"/api/v1/orders/{order_id}/refund", data="{}", content_type="application/json")
        assert r.status_code == 409
        pass_obj.refresh_from_db()
        assert pass_obj.credits_left == 3

    def test_a_refunded_pass_keeps_its_tickets_but_loses_its_credits(self, sandbox, creator, fan, tier):
        product = PassProduct.objects.create(creator=creator, name="Two", credits=2, price=Decimal("30.00"),
                                             currency="EUR")
        order = commerce.reserve(requests=[LineRequest("pass", product.pk, 1)], buyer=fan)
        commerce.sandbox_pay(order.pk)
        pass_obj = Pass.objects.get(user=fan)
        commerce.checkout(reserve(tier, fan, 1, **{"pass": pass_obj.pk}).pk)
        commerce.refund(order.pk, actor=SYSTEM)
        pass_obj.refresh_from_db()
        assert pass_obj.credits_left == 0 and pass_obj.expires_at <= timezone.now()
        assert Ticket.objects.filter(holder=fan, status=Ticket.Status.VALID).count() == 1
        r = post_order(api_for(fan), order_line(tier, 1, **{"pass": pass_obj.pk}))
        assert r.status_code == 409

    def test_the_tier_picker_offers_usable_passes(self, creator, event, fan, tier):
        pass_obj = make_pass(creator, fan, credits=2)
        make_pass(CreatorFactory(), fan)  # another creator's: not offered here
        page = page_client(fan).get(event.get_absolute_url()).content.decode()
        assert page.count('<option value="pass_') == 1 and pass_obj.pk in page and "2 credits left" in page
        r = page_client(fan).post(f"/e/{event.slug}/reserve/", {f"qty_{tier.pk}": "2", "pass": pass_obj.pk})
        assert r.status_code == 302
        order = Order.objects.get(buyer=fan)
        assert order.total == Decimal("0.00") and order.discount == Decimal("40.00")
        r = page_client(fan).post(f"/e/{event.slug}/reserve/", {f"qty_{tier.pk}": "1", "pass": "pass_nope"},
                                  follow=True)
        assert "Nothing was reserved" in r.content.decode() and Order.objects.count() == 1
        r = page_client(fan).post(f"/e/{event.slug}/reserve/", {f"qty_{tier.pk}": "1", "pass": pass_obj.pk,
                                                                 "code": "MS_x"}, follow=True)
        assert "not both" in r.content.decode() and Order.objects.count() == 1


@pytest.mark.django_db(transaction=True)
def test_concurrent_checkouts_never_overdraw_a_pass(creator, settings):
    """Eight reservations promised one credit each, then the pass was spent down to three elsewhere:
    paying them all at once issues exactly three tickets and leaves the pass at zero."""
    from .test_ticket_stock import run_together

    settings.MAX_OPEN_ORDERS_PER_ACCOUNT = 10  # eight open orders of one fan

    event = EventFactory(creator=creator)
    tier = TierFactory(event=event, quantity=50, max_per_order=10)
    fan = UserFactory()
    pass_obj = make_pass(creator, fan, credits=8)
    orders = [reserve(tier, fan, 1, **{"pass": pass_obj.pk}) for _ in range(8)]
    Pass.objects.filter(pk=pass_obj.pk).update(credits_left=3)
    results, errors = run_together([lambda o=o: commerce.checkout(o.pk) for o in orders])
    assert len(results) == 3 and len(errors) == 5
    assert all(isinstance(e, Conflict) and e.code == "no_credits" for e in errors), errors
    pass_obj.refresh_from_db()
    assert pass_obj.credits_left == 0
    assert Ticket.objects.filter(tier=tier).count() == 3
    assert Order.objects.filter(status=Order.Status.PAID).count() == 3


# --- reward discount codes -------------------------------------------------------------------

def make_code(creator, fan, percent="50", kind=Reward.Kind.DISCOUNT_CODE) -> RewardRedemption:
    reward = Reward.objects.create(creator=creator, name="Half off", kind=kind, cost_points=10, stock=5,
                                   discount_percent=Decimal(percent) if kind == Reward.Kind.DISCOUNT_CODE else None)
    memberships.award(user=fan, creator_id=creator.pk, points=100, reason=LoyaltyEntry.Reason.ADJUSTMENT,
                      key=f"test:{reward.pk}:{fan.pk}")
    return memberships.redeem_reward(user=fan, reward_id=reward.pk)


class TestDiscountCodes:
    @pytest.fixture
    def fan(self):
        return UserFactory()

    @pytest.fixture
    def tier(self, event):
        return TierFactory(event=event, price=Decimal("20.00"))

    def test_a_code_prices_the_line_and_is_used_once_at_payment(self, sandbox, creator, fan, tier):
        code = make_code(creator, fan).code
        r = post_order(api_for(fan), order_line(tier, 2, code=code))
        assert r.status_code == 201, r.content
        assert r.json()["lines"][0]["unit_price"] == "10.00" and r.json()["total"] == "20.00"
        api_for(fan).post(f"/api/v1/orders/{r.json()['id']}/sandbox-pay")
        redemption = RewardRedemption.objects.get(code=code)
        assert redemption.status == RewardRedemption.Status.USED and redemption.used_at
        r = post_order(api_for(fan), order_line(tier, 1, code=code))
        assert r.status_code == 409 and r.json()["code"] == "code_used"

    def test_the_better_of_member_discount_and_code_never_both(self, creator, fan, tier):
        join(make_plan(creator, discount_percent=Decimal("20")), fan)
        code = make_code(creator, fan, percent="50").code
        line = post_order(api_for(fan), order_line(tier, 1, code=code)).json()["lines"][0]
        assert line["unit_price"] == "10.00"  # 50 %, not 50 % and then 20 %
        small = make_code(creator, fan, percent="10").code
        r = post_order(api_for(fan), order_line(tier, 1, code=small))
        assert r.status_code == 409 and r.json()["code"] == "code_not_needed"
        assert RewardRedemption.objects.get(code=small).status == RewardRedemption.Status.ISSUED

    def test_a_full_discount_is_paid_at_checkout(self, creator, fan, tier):
        code = make_code(creator, fan, percent="100").code
        order = reserve(tier, fan, 1, code=code)
        assert order.total == Decimal("0.00")
        assert commerce.checkout(order.pk).order.status == Order.Status.PAID
        assert RewardRedemption.objects.get(code=code).status == RewardRedemption.Status.USED

    def test_a_code_held_by_an_open_reservation_or_used_meanwhile(self, creator, fan, tier):
        code = make_code(creator, fan, percent="100").code
        first = reserve(tier, fan, 1, code=code)
        with pytest.raises(Conflict) as exc:
            reserve(tier, fan, 1, code=code)
        assert exc.value.code == "code_held"
        RewardRedemption.objects.filter(code=code).update(status=RewardRedemption.Status.USED,
                                                          used_at=timezone.now())
        with pytest.raises(Conflict) as exc:
            commerce.checkout(first.pk)
        assert exc.value.code == "code_used" and not Ticket.objects.exists()

    def test_codes_that_are_not_the_buyers_or_not_for_this(self, creator, fan, tier):
        theirs = make_code(creator, UserFactory()).code
        r = post_order(api_for(fan), order_line(tier, 1, code=theirs))
        assert r.status_code == 404
        other_creator = make_code(CreatorFactory(), fan).code
        r = post_order(api_for(fan), order_line(tier, 1, code=other_creator))
        assert r.status_code == 400 and "code" in r.json()["fields"]
        backstage = make_code(creator, fan, kind=Reward.Kind.BACKSTAGE_UPGRADE).code
        r = post_order(api_for(fan), order_line(tier, 1, code=backstage))
        assert r.status_code == 400
        r = post_order(api_for(fan), order_line(tier, 1, code="MS_nothing"))
        assert r.status_code == 404
        assert not Order.objects.exists()

    def test_codes_are_for_ticket_lines_only(self, creator, fan):
        product = PassProduct.objects.create(creator=creator, name="Three", credits=3, price=Decimal("45.00"),
                                             currency="EUR")
        code = make_code(creator, fan).code
        r = post_order(api_for(fan), {"pass_product": product.pk, "quantity": 1, "code": code})
        assert r.status_code == 400

    def test_the_tier_picker_takes_a_code(self, creator, event, fan, tier):
        code = make_code(creator, fan, percent="25").code
        assert 'name="code"' in page_client(fan).get(event.get_absolute_url()).content.decode()
        r = page_client(fan).post(f"/e/{event.slug}/reserve/", {f"qty_{tier.pk}": "1", "code": f"  {code} "})
        assert r.status_code == 302
        assert Order.objects.get(buyer=fan).total == Decimal("15.00")


# --- loyalty at the door and on payment --------------------------------------------------------

def points(user, creator) -> int:
    account = LoyaltyAccount.objects.filter(user=user, creator=creator).first()
    return account.balance if account else 0


class TestLoyaltyHooks:
    def test_attendance_points_once_per_ticket(self, creator, event):
        fan = UserFactory()
        tier = TierFactory(event=event, price=Decimal("0.00"))
        order = reserve(tier, fan, 2)
        commerce.checkout(order.pk)
        first, second = Ticket.objects.filter(holder=fan)
        assert check_in(event=event, payload=qr_payload(first), actor=SYSTEM)[0] == "ok"
        assert points(fan, creator) == memberships.ATTENDANCE_POINTS
        assert check_in(event=event, payload=qr_payload(first), actor=SYSTEM)[0] == "already_checked_in"
        assert points(fan, creator) == memberships.ATTENDANCE_POINTS
        check_in(event=event, payload=qr_payload(second), actor=SYSTEM)
        assert points(fan, creator) == 2 * memberships.ATTENDANCE_POINTS
        assert LoyaltyEntry.objects.filter(reason=LoyaltyEntry.Reason.ATTENDANCE).count() == 2

    def test_no_points_for_an_invalid_scan_or_a_holder_without_account(self, creator, event):
        fan = UserFactory()
        tier = TierFactory(event=event, price=Decimal("0.00"))
        commerce.checkout(reserve(tier, fan, 1).pk)
        ticket = Ticket.objects.get(holder=fan)
        Ticket.objects.filter(pk=ticket.pk).update(holder=None, holder_email="friend@example.com")
        ticket.refresh_from_db()
        assert check_in(event=event, payload=qr_payload(ticket), actor=SYSTEM)[0] == "ok"
        assert check_in(event=event, payload="garbage", actor=SYSTEM)[0] == "invalid"
        assert not LoyaltyEntry.objects.exists()

    def test_the_door_api_awards_points(self, creator, event):
        fan = UserFactory()
        tier = TierFactory(event=event, price=Decimal("0.00"))
        commerce.checkout(reserve(tier, fan, 1).pk)
        ticket = Ticket.objects.get(holder=fan)
        door = api_for(team_member(creator, Role.DOOR))
        for _ in range(2):
            door.post(f"/api/v1/events/{event.pk}/checkins", data=json.dumps({"payload": qr_payload(ticket)}),
                      content_type="application/json")
        assert points(fan, creator) == memberships.ATTENDANCE_POINTS

    def test_purchase_points_once_and_referral_points_at_the_first_paid_order(self, sandbox, creator, event):
        tier = TierFactory(event=event, price=Decimal("20.00"))
        referrer, fan = UserFactory(), UserFactory()
        code = memberships.referral_code(referrer, creator.pk)
        referrals.record_referral(code=code, referred=fan)
        order = reserve(tier, fan, 2)
        commerce.sandbox_pay(order.pk)
        commerce.sandbox_pay(order.pk)  # a second confirmation changes nothing
        assert points(fan, creator) == 40
        assert points(referrer, creator) == referrals.REFERRAL_POINTS
        commerce.sandbox_pay(reserve(tier, fan, 1).pk)
        assert points(fan, creator) == 60
        assert points(referrer, creator) == referrals.REFERRAL_POINTS
        assert Referral.objects.get(referred=fan).rewarded_at is not None


@pytest.mark.parametrize("line", [{"pass": "pass_\x00x"}, {"code": "MS_\x00"}, {"code": "MS x"},
                                  {"pass_product": "pp_\x00", "quantity": 1}, {"tier": "tier_\x00"}])
def test_odd_bytes_in_ids_are_a_clean_4xx(event, line):
    tier = TierFactory(event=event)
    body = {"tier": tier.pk, "quantity": 1, **line}
    if "pass_product" in line:
        body.pop("tier")
    r = post_order(api_for(UserFactory()), body)
    assert r.status_code in (400, 404), r.content
    assert r.json()["code"] in ("invalid", "not_found")
