"""Post-show content for sale: a replay or a clip bought alone (signed in or as a guest), ticket tiers that include
the replay (with a window), member plans with replays, playback honouring all of it, refunds taking it back."""
from datetime import timedelta
from decimal import Decimal

import pytest
from allauth.account.models import EmailAddress
from django.test import Client
from django.utils import timezone

from commerce import services as commerce_services
from events.models import TierPerk
from events.tests.factories import EventFactory, TierFactory
from events.tests.test_api_tickets import buy
from memberships.models import Membership, MembershipPlan
from microstage.models import Role
from microstage.tests.factories import UserFactory, team_member
from streaming import replays
from streaming.models import Clip, ContentAccess, LiveStream, Recording
from microstage.permissions import SYSTEM

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def sandbox(settings):
    settings.PAYMENTS_PROVIDER = "sandbox"


@pytest.fixture
def past_show():
    """A show that ended an hour ago, with a finished recording (HLS in place, as far as URLs go)."""
    now = timezone.now()
    event = EventFactory(starts_at=now - timedelta(hours=3), ends_at=now - timedelta(hours=1))
    stream = LiveStream.objects.create(event=event, status=LiveStream.Status.ENDED)
    Recording.objects.create(stream=stream, source=Recording.Source.LIVE, status=Recording.Status.READY,
                             file="recordings/x/recording.mp4", hls_prefix="recordings/x/hls", duration_seconds=60)
    return event


def client_for(user) -> Client:
    client = Client()
    if user is not None:
        client.force_login(user)
    return client


def ticket_for(event, tier, fan) -> None:
    """Tickets are sold before a show: move it ahead for the sale, then back."""
    starts, ends = event.starts_at, event.ends_at
    type(event).objects.filter(pk=event.pk).update(starts_at=timezone.now() + timedelta(days=1),
                                                   ends_at=timezone.now() + timedelta(days=1, hours=2))
    buy(tier, fan)
    type(event).objects.filter(pk=event.pk).update(starts_at=starts, ends_at=ends)


def playback_status(event, user) -> int:
    return client_for(user).get(f"/api/v1/events/{event.pk}/playback").status_code


def test_without_an_offer_ticket_holders_watch_the_replay_as_before(past_show):
    fan = UserFactory()
    ticket_for(past_show, TierFactory(event=past_show), fan)
    assert playback_status(past_show, fan) == 200
    assert playback_status(past_show, UserFactory()) == 403


def test_bought_replay_opens_playback_and_a_refund_closes_it(past_show):
    replays.set_replay_price(past_show, "4.99")
    fan = UserFactory()
    assert playback_status(past_show, fan) == 403
    answer = client_for(fan).post(f"/api/v1/replays/{past_show.pk}/purchase", {}, content_type="application/json")
    assert answer.status_code == 201, answer.content
    body = answer.json()
    assert body["total"] == "4.99" and body["payment"]["provider"] == "sandbox"
    commerce_services.sandbox_pay(body["id"])
    assert ContentAccess.objects.get(order_line__order_id=body["id"]).user == fan
    assert playback_status(past_show, fan) == 200
    again = client_for(fan).post(f"/api/v1/replays/{past_show.pk}/purchase", {}, content_type="application/json")
    assert again.status_code == 409 and again.json()["code"] == "already_owned"
    commerce_services.refund(body["id"], actor=SYSTEM)
    assert playback_status(past_show, fan) == 403


def test_replay_as_an_order_line(past_show):
    replays.set_replay_price(past_show, "3.00")
    fan = UserFactory()
    answer = client_for(fan).post("/api/v1/orders", {"lines": [{"replay": past_show.pk, "quantity": 1}]},
                                  content_type="application/json")
    assert answer.status_code == 201 and answer.json()["total"] == "3.00"
    client_for(fan).post(f"/api/v1/orders/{answer.json()['id']}/sandbox-pay")
    assert playback_status(past_show, fan) == 200


def test_guest_buys_by_email_and_watches_once_the_address_is_verified(past_show):
    replays.set_replay_price(past_show, "4.99")
    missing = client_for(None).post(f"/api/v1/replays/{past_show.pk}/purchase", {}, content_type="application/json")
    assert missing.status_code == 400 and missing.json()["code"] == "invalid"
    answer = client_for(None).post(f"/api/v1/replays/{past_show.pk}/purchase", {"email": "guest@example.com"},
                                   content_type="application/json")
    assert answer.status_code == 201
    commerce_services.sandbox_pay(answer.json()["id"])
    guest = UserFactory(email="guest@example.com")
    assert playback_status(past_show, guest) == 403  # the address is not verified yet
    EmailAddress.objects.create(user=guest, email="guest@example.com", verified=True, primary=True)
    assert playback_status(past_show, guest) == 200


def test_not_for_sale_and_bad_ids_are_404(past_show):
    fan = client_for(UserFactory())
    assert fan.post(f"/api/v1/replays/{past_show.pk}/purchase", {}, content_type="application/json"
                    ).status_code == 404
    assert fan.post("/api/v1/replays/evt_nope/purchase", {}, content_type="application/json").status_code == 404


def test_ticket_tier_with_the_replay_perk_within_its_window(past_show):
    replays.set_replay_price(past_show, "4.99")
    plain, vip_tier = TierFactory(event=past_show), TierFactory(event=past_show, name="VIP")
    TierPerk.objects.create(tier=vip_tier, kind=TierPerk.Kind.REPLAY, days=7)
    plain_fan, vip_fan = UserFactory(), UserFactory()
    ticket_for(past_show, plain, plain_fan)
    ticket_for(past_show, vip_tier, vip_fan)
    assert playback_status(past_show, vip_fan) == 200
    assert playback_status(past_show, plain_fan) == 403  # the replay is sold: a plain ticket does not include it
    assert replays.can_watch_replay(past_show, vip_fan)
    past_show.ends_at = timezone.now() - timedelta(days=8)
    past_show.starts_at = past_show.ends_at - timedelta(hours=2)
    past_show.save()
    assert playback_status(past_show, vip_fan) == 403  # the window closed


def test_member_plan_with_replays(past_show):
    replays.set_replay_price(past_show, "4.99")
    plan = MembershipPlan.objects.create(creator=past_show.creator, name="Inner circle", price=Decimal("5.00"),
                                         currency="EUR", replay_access=True)
    member = UserFactory()
    Membership.objects.create(user=member, plan=plan, creator=past_show.creator, status=Membership.Status.ACTIVE)
    assert playback_status(past_show, member) == 200


def test_team_always_and_watch_page_offers_it(past_show):
    replays.set_replay_price(past_show, "4.99")
    assert playback_status(past_show, team_member(past_show.creator, Role.MODERATOR)) == 200
    page = client_for(UserFactory()).get(f"/e/{past_show.slug}/watch/").content.decode()
    assert 'id="buy-replay"' in page and "€4.99" in page
    guest_page = client_for(None).get(f"/e/{past_show.slug}/watch/").content.decode()
    assert 'name="email"' in guest_page
    answer = client_for(None).post(f"/e/{past_show.slug}/replay/buy/", {"email": "g2@example.com"})
    assert answer.status_code == 302 and "/payments/sandbox/checkout/" in answer["Location"]
    bad = client_for(None).post(f"/e/{past_show.slug}/replay/buy/", {"email": "nope"}, follow=True)
    assert bad.status_code == 200 and "email" in bad.content.decode().lower()


def test_creator_prices_the_replay_from_the_dashboard(past_show):
    owner = client_for(team_member(past_show.creator, Role.OWNER))
    assert owner.post(f"/dashboard/live/{past_show.pk}/replay/price/", {"price": "6,50"}).status_code == 302
    assert replays.active_offer(past_show).price == Decimal("6.50")
    owner.post(f"/dashboard/live/{past_show.pk}/replay/price/", {"price": "abc"})
    assert replays.active_offer(past_show).price == Decimal("6.50")
    owner.post(f"/dashboard/live/{past_show.pk}/replay/price/", {"price": ""})
    assert replays.active_offer(past_show) is None
    door = client_for(team_member(past_show.creator, Role.DOOR))
    door.post(f"/dashboard/live/{past_show.pk}/replay/price/", {"price": "9.00"})
    assert replays.active_offer(past_show) is None


def test_priced_clip_bought_alone(past_show):
    recording = Recording.objects.get(stream__event=past_show)
    clip = Clip.objects.create(event=past_show, recording=recording, title="The encore", start_seconds=0,
                               end_seconds=10, access=Clip.Access.TICKET_HOLDERS, status=Clip.Status.READY,
                               file="clips/x.mp4")
    fan = UserFactory()
    assert client_for(fan).post("/api/v1/orders", {"lines": [{"clip": clip.pk, "quantity": 1}]},
                                content_type="application/json").status_code == 404  # not for sale
    replays.set_clip_price(clip, "1.50")
    page = client_for(fan).get(f"/clips/{clip.pk}/").content.decode()
    assert 'id="buy-clip"' in page
    answer = client_for(fan).post("/api/v1/orders", {"lines": [{"clip": clip.pk, "quantity": 1}]},
                                  content_type="application/json")
    assert answer.status_code == 201
    commerce_services.sandbox_pay(answer.json()["id"])
    detail = client_for(fan).get(f"/api/v1/clips/{clip.pk}").json()
    assert detail.get("url")
    assert "url" not in client_for(UserFactory()).get(f"/api/v1/clips/{clip.pk}").json()
