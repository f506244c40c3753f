"""Group-buys: creating (rules), pricing, joining (authorisation, cap under concurrency), leaving, API."""
from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from groupbuys import services as groupbuys
from commerce.models import Order
from groupbuys.models import GroupBuy, GroupBuyParticipant
from commerce.tests.helpers import run_together
from microstage.errors import Conflict
from microstage.models import Role
from microstage.payments.models import Payment
from microstage.tests.factories import UserFactory, team_member

from groupbuys.tests.groupbuy_helpers import group_buy, join, past_deadline, product

pytestmark = pytest.mark.usefixtures("sandbox_provider")


@pytest.fixture
def sandbox_provider(settings):
    settings.PAYMENTS_PROVIDER = "sandbox"


def _body(prod, **over):
    body = {"creator": prod.creator_id, "product": prod.pk,
            "deadline": (timezone.now() + timedelta(days=2)).isoformat(),
            "price_tiers": [{"min_quantity": 5, "price": "8.00"}, {"min_quantity": 10, "price": "6.00"}],
            "max_quantity": 20}
    body.update(over)
    return body


# --- create ----------------------------------------------------------------------------------------

@pytest.mark.django_db
def test_team_creates_a_group_buy_and_anyone_reads_its_progress(make_api, api):
    prod = product()
    owner = team_member(prod.creator, Role.OWNER)
    r = make_api(owner).post("/api/v1/group-buys", _body(prod), format="json")
    assert r.status_code == 201, r.json()
    data = r.json()
    assert data["status"] == "open" and data["committed_quantity"] == 0
    assert data["current_price"] == "10.00"  # the list price before the first tier
    assert data["next_tier"] == {"min_quantity": 5, "price": "8.00"} and data["needed"] == 5
    got = api.get(f"/api/v1/group-buys/{data['id']}")
    assert got.status_code == 200
    assert {k: got.json()[k] for k in ("status", "committed_quantity", "current_price", "next_tier", "deadline")} == \
        {k: data[k] for k in ("status", "committed_quantity", "current_price", "next_tier", "deadline")}


@pytest.mark.django_db
@pytest.mark.parametrize("change, field", [
    ({"price_tiers": []}, "price_tiers"),
    ({"price_tiers": [{"min_quantity": 5, "price": "8"}, {"min_quantity": 5, "price": "6"}]}, "price_tiers[1]"),
    ({"price_tiers": [{"min_quantity": 5, "price": "6"}, {"min_quantity": 10, "price": "8"}]}, "price_tiers[1]"),
    ({"price_tiers": [{"min_quantity": 5, "price": "-1"}]}, "price_tiers"),
    ({"price_tiers": [{"min_quantity": 0, "price": "5"}]}, "price_tiers"),
    ({"price_tiers": [{"min_quantity": 5, "price": "12.00"}]}, "price_tiers[0]"),
    ({"price_tiers": [{"min_quantity": 5, "price": "1.234"}]}, "price_tiers"),
    ({"price_tiers": "cheap"}, "price_tiers"),
    ({"max_quantity": 9}, "max_quantity"),
    ({"max_quantity": "lots"}, "max_quantity"),
    ({"deadline": "2001-01-01T00:00:00Z"}, "deadline"),
    ({"deadline": "tomorrow"}, "deadline"),
    ({"product": None}, "product"),
])
def test_bad_input_is_400_and_creates_nothing(make_api, change, field):
    prod = product()
    owner = team_member(prod.creator, Role.OWNER)
    r = make_api(owner).post("/api/v1/group-buys", _body(prod, **change), format="json")
    assert r.status_code == 400, r.json()
    assert r.json()["code"] == "invalid"
    assert any(name.startswith(field) for name in r.json()["fields"]), r.json()
    assert GroupBuy.objects.count() == 0


@pytest.mark.django_db
def test_who_may_create(make_api, api):
    prod = product()
    door = team_member(prod.creator, Role.DOOR)
    manager = team_member(prod.creator, Role.MANAGER)
    assert api.post("/api/v1/group-buys", _body(prod), format="json").status_code == 401
    assert make_api(UserFactory()).post("/api/v1/group-buys", _body(prod), format="json").status_code == 404
    assert make_api(door).post("/api/v1/group-buys", _body(prod), format="json").status_code == 403
    other = product()  # another creator's product
    assert make_api(manager).post("/api/v1/group-buys", _body(prod, product=other.pk),
                                  format="json").status_code == 404
    assert GroupBuy.objects.count() == 0
    assert make_api(manager).post("/api/v1/group-buys", _body(prod), format="json").status_code == 201


@pytest.mark.django_db
def test_pricing_follows_the_tiers():
    gb = group_buy(max_quantity=20)
    prog = groupbuys.progress(gb)
    assert (prog.current_price, prog.next_tier.min_quantity, prog.needed) == (Decimal("10.00"), 5, 5)
    join(gb, 5)  # exactly at the first threshold
    gb.refresh_from_db()
    gb._tiers = None
    prog = groupbuys.progress(gb)
    assert (prog.current_price, prog.next_tier.min_quantity, prog.needed) == (Decimal("8.00"), 10, 5)
    join(gb, 6)
    gb.refresh_from_db()
    prog = groupbuys.progress(gb)
    assert (prog.current_price, prog.next_tier, prog.needed, prog.left) == (Decimal("6.00"), None, 0, 9)


# --- join ------------------------------------------------------------------------------------------

@pytest.mark.django_db
def test_join_authorises_the_full_price_and_takes_nothing(make_api, api):
    gb = group_buy()
    buyer = UserFactory()
    assert api.post(f"/api/v1/group-buys/{gb.pk}/join", {"quantity": 2}, format="json").status_code == 401
    r = make_api(buyer).post(f"/api/v1/group-buys/{gb.pk}/join", {"quantity": 2}, format="json")
    assert r.status_code == 201, r.json()
    data = r.json()
    assert data["status"] == "authorized"
    participant = GroupBuyParticipant.objects.get(pk=data["participant"])
    assert participant.order_id == data["order"] and participant.status == "authorized"
    payment = Payment.objects.get(pk=participant.payment_id)
    assert (payment.status, payment.amount, payment.captured_amount, payment.capture_method) == \
        ("authorized", Decimal("20.00"), Decimal("0"), "manual")
    assert (payment.purpose, payment.reference) == (groupbuys.PURPOSE, participant.pk)
    order = Order.objects.get(pk=data["order"])
    assert (order.status, order.total, order.buyer_id) == ("awaiting_payment", Decimal("20.00"), buyer.pk)
    assert api.get(f"/api/v1/group-buys/{gb.pk}").json()["committed_quantity"] == 2
    # The order is paid at settlement, never through the ordinary checkout.
    checkout = make_api(buyer).post(f"/api/v1/orders/{order.pk}/checkout")
    assert checkout.status_code == 409 and checkout.json()["code"] == "group_buy"


@pytest.mark.django_db
@pytest.mark.parametrize("body", [{}, {"quantity": 0}, {"quantity": -1}, {"quantity": 101}, {"quantity": "two"},
                                  {"quantity": 1.5}, {"quantity": None}])
def test_join_with_bad_input_is_400_and_creates_nothing(make_api, body):
    gb = group_buy()
    r = make_api(UserFactory()).post(f"/api/v1/group-buys/{gb.pk}/join", body, format="json")
    assert r.status_code == 400 and r.json()["code"] == "invalid"
    assert not GroupBuyParticipant.objects.exists() and not Order.objects.exists() and not Payment.objects.exists()


@pytest.mark.django_db
def test_join_refusals(make_api):
    gb = group_buy(max_quantity=10, tiers=[{"min_quantity": 5, "price": "8.00"}])
    client = make_api(UserFactory())
    assert client.post("/api/v1/group-buys/gb_nope/join", {"quantity": 1}, format="json").status_code == 404
    assert client.post(f"/api/v1/group-buys/{gb.pk}/join", {"quantity": 8}, format="json").status_code == 201
    over = client.post(f"/api/v1/group-buys/{gb.pk}/join", {"quantity": 3}, format="json")
    assert over.status_code == 409 and over.json()["code"] == "sold_out" and over.json()["available"] == 2
    past_deadline(gb)
    late = make_api(UserFactory()).post(f"/api/v1/group-buys/{gb.pk}/join", {"quantity": 1}, format="json")
    assert late.status_code == 409 and late.json()["code"] == "closed"
    assert GroupBuyParticipant.objects.count() == 1 and GroupBuy.objects.get(pk=gb.pk).committed_quantity == 8


@pytest.mark.django_db
def test_a_declined_card_frees_the_seat(make_api):
    gb = group_buy()
    r = make_api(UserFactory()).post(f"/api/v1/group-buys/{gb.pk}/join",
                                     {"quantity": 3, "payment_method": "sandbox_decline"}, format="json")
    assert r.status_code == 402 and r.json()["code"] == "card_declined"
    assert GroupBuy.objects.get(pk=gb.pk).committed_quantity == 0
    participant = GroupBuyParticipant.objects.get()
    assert participant.status == "cancelled" and participant.order.status == "cancelled"


@pytest.mark.django_db
def test_far_deadline_saves_the_card_instead_of_authorising():
    gb = group_buy(days=10)
    result = join(gb, 2)
    assert result.status == "authorized" and result.payment is None
    p = result.participant
    assert p.status == "authorized" and p.customer.startswith("sbcus") and p.payment_method
    assert not Payment.objects.exists()  # nothing held on the card for ten days


@pytest.mark.django_db
def test_leaving_before_the_deadline_releases_the_authorisation(django_capture_on_commit_callbacks):
    gb = group_buy()
    result = join(gb, 3)
    with django_capture_on_commit_callbacks(execute=True):
        groupbuys.leave(participant_id=result.participant.pk, user=result.participant.user)
    result.participant.refresh_from_db()
    assert result.participant.status == "cancelled"
    assert Order.objects.get(pk=result.order.pk).status == "cancelled"
    assert Payment.objects.get(pk=result.payment.pk).status == "cancelled"
    assert GroupBuy.objects.get(pk=gb.pk).committed_quantity == 0


@pytest.mark.django_db
def test_leaving_after_the_deadline_is_refused():
    gb = group_buy()
    result = join(gb, 1)
    past_deadline(gb)
    with pytest.raises(Conflict) as exc:
        groupbuys.leave(participant_id=result.participant.pk, user=result.participant.user)
    assert exc.value.code == "closed"
    assert GroupBuyParticipant.objects.get(pk=result.participant.pk).status == "authorized"


@pytest.mark.django_db
def test_progress_is_published_on_commit_to_the_event_and_the_group_buy(monkeypatch,
                                                                        django_capture_on_commit_callbacks):
    sent = []
    monkeypatch.setattr("microstage.realtime.send_now", lambda group, payload: sent.append((group, payload)))
    gb = group_buy(tiers=[{"min_quantity": 2, "price": "7.00"}])
    GroupBuy.objects.filter(pk=gb.pk).update(event_id="evt_show")
    with django_capture_on_commit_callbacks(execute=True):
        join(gb, 2)
    groups = {g for g, _ in sent}
    assert groups == {"event.evt_show", f"group_buy.{gb.pk}"}
    payload = sent[-1][1]
    assert payload == {"type": "group_buy", "id": gb.pk, "status": "open", "outcome": None,
                       "committed_quantity": 2,
                       "current_price": "7.00", "currency": "EUR", "next_tier": None, "needed": 0}


# --- concurrency -----------------------------------------------------------------------------------

@pytest.mark.django_db(transaction=True)
def test_the_cap_holds_under_simultaneous_joiners():
    gb = group_buy(max_quantity=10, tiers=[{"min_quantity": 5, "price": "8.00"}])
    users = [UserFactory() for _ in range(25)]
    results, errors = run_together([lambda u=u: join(gb, 1, user=u) for u in users])
    assert len(results) == 10
    assert len(errors) == 15 and all(isinstance(e, Conflict) and e.code == "sold_out" for e in errors), errors
    gb.refresh_from_db()
    assert gb.committed_quantity == 10
    assert GroupBuyParticipant.objects.filter(group_buy=gb, status="authorized").count() == 10
    assert Payment.objects.filter(status="authorized").count() == 10
    assert Order.objects.count() == 10


# --- settle API ------------------------------------------------------------------------------------

@pytest.mark.django_db
def test_settle_api_rights_timing_and_idempotence(make_api):
    gb = group_buy(tiers=[{"min_quantity": 2, "price": "7.00"}])
    owner, buyer = gb.owner, UserFactory()
    join(gb, 1, user=buyer)
    join(gb, 1)
    url = f"/api/v1/group-buys/{gb.pk}/settle"
    early = make_api(owner).post(url)
    assert early.status_code == 409 and early.json()["code"] == "too_early"
    past_deadline(gb)
    assert make_api(buyer).post(url).status_code == 403
    assert make_api(UserFactory()).post(url).status_code == 404
    assert GroupBuy.objects.get(pk=gb.pk).status == "open"
    first = make_api(owner).post(url)
    assert first.status_code == 200 and first.json()["status"] == "settled"
    assert first.json()["current_price"] == "7.00"
    again = make_api(owner).post(url)
    assert again.status_code == 200 and again.json()["status"] == "settled"
    assert sorted(Payment.objects.values_list("captured_amount", flat=True)) == [Decimal("7.00")] * 2




# --- pages -----------------------------------------------------------------------------------------

@pytest.mark.django_db
def test_group_buy_page_shows_progress_and_joins(client):
    gb = group_buy()
    page = client.get(f"/g/{gb.pk}/")
    assert page.status_code == 200
    html = page.content.decode()
    assert f'data-group-buy="{gb.pk}"' in html and "5 more for €8.00 each" in html and "Log in to join" in html
    assert client.get("/g/gb_nope/").status_code == 404
    buyer = UserFactory()
    client.force_login(buyer)
    bad = client.post(f"/g/{gb.pk}/join/", {"quantity": "0"})
    assert bad.status_code == 400 and not GroupBuyParticipant.objects.exists()
    r = client.post(f"/g/{gb.pk}/join/", {"quantity": "2"})
    assert r.status_code == 302
    participant = GroupBuyParticipant.objects.get(user=buyer)
    assert participant.status == "authorized" and participant.quantity == 2
    html = client.get(f"/g/{gb.pk}/").content.decode()
    assert "3 more for €8.00 each" in html and "Leave" in html
    assert client.post(f"/g/{gb.pk}/leave/{participant.pk}/").status_code == 302
    assert GroupBuyParticipant.objects.get(pk=participant.pk).status == "cancelled"


@pytest.mark.django_db
def test_dashboard_lists_creates_and_settles(client):
    prod = product()
    owner = team_member(prod.creator, Role.OWNER)
    client.force_login(owner)
    assert client.get("/dashboard/group-buys/").status_code == 200
    deadline = (timezone.now() + timedelta(days=1)).strftime("%Y-%m-%dT%H:%M")
    bad = client.post("/dashboard/group-buys/new/", {"product": prod.pk, "deadline": deadline,
                                                      "tiers": "5: 8.00\n3: 9.00"})
    assert bad.status_code == 400 and not GroupBuy.objects.exists()
    r = client.post("/dashboard/group-buys/new/", {"product": prod.pk, "deadline": deadline,
                                                    "tiers": "2: 8.00\n5: 6.00", "max_quantity": "10"})
    assert r.status_code == 302, r.content.decode()[:2000]
    gb = GroupBuy.objects.get()
    join(gb, 2)
    GroupBuy.objects.filter(pk=gb.pk).update(deadline=timezone.now() - timedelta(minutes=1))
    assert client.post(f"/dashboard/group-buys/{gb.pk}/settle/").status_code == 302
    page = client.get(f"/dashboard/group-buys/{gb.pk}/").content.decode()
    assert "Settled" in page and "Charged 16.00 EUR" in page
    stranger = UserFactory()
    client.force_login(stranger)
    assert client.get(f"/dashboard/group-buys/{gb.pk}/").status_code in (302, 404)
