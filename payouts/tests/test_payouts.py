"""Creator payouts: pending until the show is over plus the settling period, held while disputed or under risk
review, payouts on the schedule (sandbox and Stripe Connect at the HTTP boundary), failures given back, statements,
the balance and payouts API."""
import dataclasses
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from django.test import Client
from django.utils import timezone

from commerce import sellables, services
from commerce.models import Order
from commerce.services import LineRequest
from commerce.tests.helpers import KIND, run_together
from commerce.tests.money_helpers import awaiting_stripe, dispute, intent_succeeded, post_webhook
from microstage.models import Creator, Role
from microstage.tests.factories import UserFactory, team_member
from payouts import services as payouts
from payouts.models import LedgerEntry, Payout, PayoutProfile
from risk.models import RiskReview
from microstage.permissions import SYSTEM

D = Decimal
SHOW_END = timezone.now() + timedelta(days=2)
SHOW_ENDS = {"evt_show": SHOW_END}


def _show_ends(ids):
    return {i: SHOW_ENDS[i] for i in ids if i in SHOW_ENDS}


@pytest.fixture
def show(catalog):
    """Seats of the test kind belong to the show "evt_show", which ends at SHOW_END."""
    sellables._registry[KIND] = dataclasses.replace(sellables.get(KIND), event_of=lambda line: "evt_show")
    sellables.register_show_ends(_show_ends)
    catalog.add("seat", {"pool:seat": 50}, price="10.00")
    yield catalog
    sellables._show_ends.remove(_show_ends)  # the catalog fixture takes the kind away


def paid_seat(catalog, quantity: int = 1) -> Order:
    order = services.reserve(requests=[LineRequest(KIND, "seat", quantity)], buyer=UserFactory())
    services.sandbox_pay(order.pk)
    return Order.objects.get(pk=order.pk)


def settled(settings) -> datetime:
    return SHOW_END + timedelta(hours=settings.PAYOUT_SETTLING_HOURS, minutes=1)


def next_weekday(after: datetime, weekday: int) -> datetime:
    return after + timedelta(days=(weekday - after.weekday()) % 7 or 7)


def test_sale_is_pending_until_the_show_is_over_plus_settling(show, sandbox, settings):
    settings.PAYOUT_SETTLING_HOURS = 48
    order = paid_seat(show, 2)  # 20.00, fee 1.00
    assert LedgerEntry.objects.get(key=f"sale:{order.pk}").available_at == SHOW_END + timedelta(hours=48)
    cid = order.creator_id
    assert payouts.split(cid, "EUR") == payouts.Split("EUR", D("19.00"), D("0.00"), D("0.00"))
    assert payouts.split(cid, "EUR", SHOW_END + timedelta(hours=47)).pending == D("19.00")
    assert payouts.split(cid, "EUR", settled(settings)) == payouts.Split("EUR", D("0.00"), D("19.00"), D("0.00"))
    # A refund while pending comes out of pending (with the fee returned in proportion).
    services.refund(order.pk, actor=SYSTEM)
    assert payouts.split(cid, "EUR") == payouts.Split("EUR", D("0.00"), D("0.00"), D("0.00"))


def test_things_sold_outside_a_show_settle_after_payment(catalog, sandbox, settings):
    catalog.add("mug", {"pool:mug": 5}, price="8.00")
    order = services.reserve(requests=[LineRequest(KIND, "mug", 1)], buyer=UserFactory())
    services.sandbox_pay(order.pk)
    order.refresh_from_db()
    entry = LedgerEntry.objects.get(key=f"sale:{order.pk}")
    assert entry.available_at == order.paid_at + timedelta(hours=settings.PAYOUT_SETTLING_HOURS)


def test_risk_review_holds_until_approved(show, sandbox, settings):
    order = paid_seat(show)
    review = RiskReview.objects.create(order=order, score=80, reasons=["test"])
    later = settled(settings)
    assert payouts.split(order.creator_id, "EUR", later) == payouts.Split("EUR", D("0"), D("0"), D("9.50"))
    assert payouts.create_payout(order.creator_id, "EUR", key="k1", now=later) is None  # nothing due
    review.status = RiskReview.Status.APPROVED
    review.save()
    assert payouts.split(order.creator_id, "EUR", later) == payouts.Split("EUR", D("0"), D("9.50"), D("0"))


def test_weekly_sandbox_payout_covers_due_entries_once(show, sandbox, settings):
    settings.PAYOUT_WEEKDAY = 0
    first, second = paid_seat(show), paid_seat(show, 3)
    cid = first.creator_id
    not_monday = settled(settings)
    if not_monday.weekday() == 0:
        not_monday += timedelta(days=1)
    assert payouts.run_due_payouts(not_monday) == 0  # weekly: only on Monday
    monday = next_weekday(not_monday, 0)
    upcoming = payouts.next_payout(cid, "EUR", not_monday)
    assert upcoming == {"amount": D("38.00"), "currency": "EUR", "expected_at": monday.replace(
        hour=0, minute=0, second=0, microsecond=0)}
    assert payouts.run_due_payouts(monday) == 1
    assert payouts.run_due_payouts(monday + timedelta(minutes=15)) == 0  # the beat again: nothing twice
    payout = Payout.objects.get(creator_id=cid)
    assert (payout.amount, payout.status, payout.method, payout.schedule) == (D("38.00"), "paid", "sandbox", "weekly")
    rows = payouts.statement(payout)
    assert [(r["type"], r["amount"], r["order"]) for r in rows] == [
        ("order", D("10.00"), first.pk), ("fee", D("-0.50"), first.pk),
        ("order", D("30.00"), second.pk), ("fee", D("-1.50"), second.pk), ("payout", D("-38.00"), "")]
    assert payouts.split(cid, "EUR", monday) == payouts.Split("EUR", D("0"), D("0"), D("0"))
    assert LedgerEntry.objects.get(key=f"payout:{payout.pk}").amount == D("-38.00")
    assert payouts.next_payout(cid, "EUR", monday) is None


def test_refund_after_payout_is_netted_by_the_next_one(show, sandbox, settings):
    payouts.set_schedule(show.creator_id, "after_show", actor=SYSTEM)
    first = paid_seat(show, 2)
    later = settled(settings)
    assert payouts.run_due_payouts(later) == 1
    services.refund(first.pk, actor=SYSTEM)  # after it was paid out: the creator owes it back
    assert payouts.split(first.creator_id, "EUR", later).available == D("-19.00")
    paid_seat(show, 3)  # the same show: settles at the same time
    assert payouts.run_due_payouts(later + timedelta(days=1)) == 1
    second = Payout.objects.filter(creator_id=first.creator_id).order_by("-created_at").first()
    assert second.amount == D("9.50")  # 30.00 - 1.50 fee - 20.00 refunded + 1.00 fee returned
    assert sorted(r["type"] for r in payouts.statement(second)) == ["fee", "fee_returned", "order", "payout",
                                                                     "refund"]


def test_dispute_is_held(show, fake_stripe):
    show.add("vip", {"pool:vip": 5}, price="30.00")
    order = services.reserve(requests=[LineRequest(KIND, "vip", 1)], buyer=UserFactory())
    payment = awaiting_stripe(order, "pi_payout_d")
    assert intent_succeeded(payment, "evt_pd_paid") == 200
    assert dispute(payment, "evt_pd_open", "dp_1") == 200
    assert dispute(payment, "evt_pd_open", "dp_1") == 200  # replayed
    split = payouts.split(order.creator_id, "EUR")
    assert (split.pending, split.held) == (D("28.50"), D("30.00"))


def _connect(creator_id, account="acct_creator_9", payouts_enabled=True):
    Creator.objects.filter(pk=creator_id).update(stripe_account=account)
    PayoutProfile.objects.update_or_create(creator_id=creator_id, defaults={
        "charges_enabled": True, "payouts_enabled": payouts_enabled, "schedule": "after_show"})


def _stripe_paid(show, intent: str, item="seat") -> Order:
    order = services.reserve(requests=[LineRequest(KIND, item, 1)], buyer=UserFactory())
    payment = awaiting_stripe(order, intent)
    assert intent_succeeded(payment, f"evt_{intent}") == 200
    return order


def test_connect_payout_transfers_then_pays_out_in_minor_units(show, fake_stripe, settings):
    settings.STRIPE_CONNECT = True
    order = _stripe_paid(show, "pi_conn_1")
    cid = order.creator_id
    later = settled(settings)
    _connect(cid, payouts_enabled=False)
    assert payouts.run_due_payouts(later) == 0 and payouts.next_payout(cid, "EUR", later) is None
    _connect(cid)
    assert payouts.run_due_payouts(later) == 1
    calls = [(p, f) for p, f in fake_stripe.requests if p in ("/v1/transfers", "/v1/payouts")]
    assert calls == [("/v1/transfers", {"amount": "950", "currency": "eur", "destination": "acct_creator_9",
                                        "metadata[payout]": calls[0][1]["metadata[payout]"],
                                        "metadata[creator]": cid}),
                     ("/v1/payouts", {"amount": "950", "currency": "eur",
                                      "metadata[payout]": calls[0][1]["metadata[payout]"], "metadata[creator]": cid})]
    payout_headers = fake_stripe.headers[[p for p, _ in fake_stripe.requests].index("/v1/payouts")]
    assert payout_headers.get("Stripe-Account") == "acct_creator_9"
    assert payout_headers.get("Idempotency-Key", "").endswith(":payout")
    payout = Payout.objects.get(creator_id=cid)
    assert payout.status == "in_transit" and payout.provider_reference.startswith("po_")
    assert payout.expected_at == datetime(2030, 1, 1, tzinfo=UTC)
    # Stripe tells us it landed; told twice, nothing twice.
    for _ in range(2):
        assert post_webhook("evt_po_paid", "payout.paid", {"id": payout.provider_reference, "object": "payout",
                                                            "status": "paid", "amount": 950, "currency": "eur"}) == 200
    payout.refresh_from_db()
    assert payout.status == "paid" and payout.paid_at is not None


def test_destination_charges_are_paid_out_without_a_transfer(show, fake_stripe, settings):
    settings.STRIPE_CONNECT = True
    _connect(show.creator_id)
    order = services.reserve(requests=[LineRequest(KIND, "seat", 1)], buyer=UserFactory())
    services.checkout(order.pk)  # a destination charge
    payment = Order.objects.get(pk=order.pk).payment
    payment.provider_reference = "pi_dest_1"
    payment.save(update_fields=["provider_reference"])
    assert intent_succeeded(payment, "evt_dest_1") == 200
    assert payouts.run_due_payouts(settled(settings)) == 1
    paths = [p for p, _ in fake_stripe.requests]
    assert "/v1/transfers" not in paths and paths[-1] == "/v1/payouts"


def test_failed_payout_gives_the_money_back_and_the_next_one_retries(show, fake_stripe, settings):
    settings.STRIPE_CONNECT = True
    order = _stripe_paid(show, "pi_conn_f")
    cid = order.creator_id
    _connect(cid)
    later = settled(settings)
    fake_stripe.fail = {"/v1/transfers"}
    assert payouts.run_due_payouts(later) == 1
    failed = Payout.objects.get(creator_id=cid)
    assert failed.status == "failed" and "Stripe said no" in failed.failure_reason
    assert payouts.split(cid, "EUR", later).available == D("9.50")
    fake_stripe.fail = set()
    assert payouts.run_due_payouts(later + timedelta(days=1)) == 1
    retry = Payout.objects.filter(creator_id=cid).exclude(pk=failed.pk).get()
    assert retry.amount == D("9.50") and retry.status == "in_transit"
    assert [r["type"] for r in payouts.statement(retry)] == ["payout_returned", "payout"]
    assert payouts.split(cid, "EUR", later + timedelta(days=1)).available == D("0.00")
    transfer = [f for p, f in fake_stripe.requests if p == "/v1/transfers"][-1]
    assert transfer["amount"] == "950"  # nothing reached Stripe the first time: transferred now


def test_payout_failed_webhook_returns_the_amount_once(show, fake_stripe, settings):
    settings.STRIPE_CONNECT = True
    order = _stripe_paid(show, "pi_conn_w")
    _connect(order.creator_id)
    later = settled(settings)
    payouts.run_due_payouts(later)
    payout = Payout.objects.get(creator_id=order.creator_id)
    for _ in range(2):
        assert post_webhook("evt_po_failed", "payout.failed", {
            "id": payout.provider_reference, "object": "payout", "status": "failed",
            "failure_message": "The bank account was closed.", "amount": 950, "currency": "eur"}) == 200
    payout.refresh_from_db()
    assert payout.status == "failed" and "closed" in payout.failure_reason
    assert LedgerEntry.objects.filter(key=f"payout_failed:{payout.pk}").count() == 1
    assert payouts.split(order.creator_id, "EUR", later).available == D("9.50")


def test_payouts_task_is_registered_under_its_beat_name(settings):
    from microstage.celery import app

    import payouts.tasks  # noqa: F401 - what the worker's autodiscovery imports
    entry = settings.CELERY_BEAT_SCHEDULE["run-due-payouts"]
    assert entry["task"] == "commerce.run_due_payouts" and entry["task"] in app.tasks


# --- API -------------------------------------------------------------------------------------------

def _api(user) -> Client:
    client = Client()
    if user is not None:
        client.force_login(user)
    return client


def test_balance_and_payouts_api_for_owner_and_manager(show, sandbox, settings):
    creator = Creator.objects.get(pk=show.creator_id)
    paid_seat(show)
    payouts.set_schedule(creator.pk, "after_show", actor=SYSTEM)
    for role in (Role.OWNER, Role.MANAGER):
        user = team_member(creator, role)
        answer = _api(user).get(f"/api/v1/creators/{creator.pk}/balance")
        assert answer.status_code == 200
        assert answer.json() == {"currency": "EUR", "pending": "9.50", "available": "0.00", "held": "0.00"}
        body = _api(user).get(f"/api/v1/creators/{creator.pk}/payouts").json()
        assert body["schedule"] == "after_show" and body["results"] == [] and body["next"] is None
        assert body["next_payout"]["amount"] == "9.50"
        assert body["next_payout"]["expected_at"] == (SHOW_END + timedelta(
            hours=settings.PAYOUT_SETTLING_HOURS)).isoformat()
    payouts.run_due_payouts(settled(settings))
    body = _api(team_member(creator, Role.MANAGER)).get(f"/api/v1/creators/{creator.pk}/payouts").json()
    [payout] = body["results"]
    assert payout["amount"] == "9.50" and payout["status"] == "paid"
    assert [(ln["type"], ln["amount"]) for ln in payout["lines"]] == [("order", "10.00"), ("fee", "-0.50"),
                                                                     ("payout", "-9.50")]
    assert body["next_payout"] is None


def test_balance_api_refuses_others(show, sandbox):
    creator = Creator.objects.get(pk=show.creator_id)
    for path in (f"/api/v1/creators/{creator.pk}/balance", f"/api/v1/creators/{creator.pk}/payouts"):
        assert _api(None).get(path).status_code == 401
        assert _api(UserFactory()).get(path).status_code == 404
        answer = _api(team_member(creator, Role.DOOR)).get(path)
        assert answer.status_code == 403 and answer.json()["code"]
    assert _api(UserFactory()).get("/api/v1/creators/cre_nope/balance").status_code == 404
    owner = team_member(creator, Role.OWNER)
    bad = _api(owner).get(f"/api/v1/creators/{creator.pk}/balance?currency=12")
    assert bad.status_code == 400 and bad.json()["code"] == "invalid"


# --- pages ---------------------------------------------------------------------------------------

def test_money_page_shows_next_payout_and_statements(show, sandbox, settings):
    creator = Creator.objects.get(pk=show.creator_id)
    first = paid_seat(show)
    owner = _api(team_member(creator, Role.OWNER))
    html = owner.get("/dashboard/money/").content.decode()
    assert 'id="bal-pending" data-amount="9.50"' in html and "Next payout" in html and "9.50" in html
    assert owner.post("/dashboard/money/schedule/", {"schedule": "after_show"}).status_code == 302
    assert PayoutProfile.objects.get(creator=creator).schedule == "after_show"
    assert owner.post("/dashboard/money/schedule/", {"schedule": "hourly"}, follow=True).status_code == 200
    assert PayoutProfile.objects.get(creator=creator).schedule == "after_show"
    payouts.run_due_payouts(settled(settings))
    payout = Payout.objects.get(creator=creator)
    page = owner.get(f"/dashboard/money/payouts/{payout.pk}/")
    assert page.status_code == 200
    text = page.content.decode()
    assert first.pk in text and "Platform fee" in text and "Paid out" in text
    csv_answer = owner.get(f"/dashboard/money/payouts/{payout.pk}.csv")
    assert csv_answer["Content-Type"].startswith("text/csv")
    body = b"".join(csv_answer.streaming_content).decode()
    assert body.startswith("\ufeff") and csv_answer["Cache-Control"] == "no-store"  # the one CSV writer's shape
    lines = body[1:].splitlines()
    assert lines[0] == "date,type,description,order,amount,currency"
    assert any(f",Order,,{first.pk},10.00,EUR" in ln for ln in lines)
    assert lines[-1].endswith(",Total paid out,Paid,,9.50,EUR")
    # Someone else's payout is not found; other roles do not get in.
    other = _api(team_member(Creator.objects.create(name="Other", slug="other-x"), Role.OWNER))
    assert other.get(f"/dashboard/money/payouts/{payout.pk}/").status_code == 404
    assert other.get(f"/dashboard/money/payouts/{payout.pk}.csv").status_code == 404
    assert _api(team_member(creator, Role.DOOR)).get(f"/dashboard/money/payouts/{payout.pk}.csv").status_code == 302


def test_staff_see_payouts_in_the_admin(show, sandbox, settings, admin_client):
    paid_seat(show)
    payouts.set_schedule(show.creator_id, "after_show", actor=SYSTEM)
    payouts.run_due_payouts(settled(settings))
    payout = Payout.objects.get()
    for url in ("/admin/payouts/payout/", f"/admin/payouts/payout/{payout.pk}/change/",
                "/admin/payouts/payoutprofile/", "/admin/streaming/replayoffer/", "/admin/streaming/contentaccess/"):
        assert admin_client.get(url).status_code == 200, url


@pytest.mark.django_db(transaction=True)
def test_two_payout_runs_at_once_pay_each_entry_once(show, sandbox, settings):
    """Two beat runs (or a retry racing the schedule) under different keys: the creator's row lock makes the
    second find nothing left to cover, so the money goes out once."""
    payouts.set_schedule(show.creator_id, "after_show", actor=SYSTEM)
    paid_seat(show, 3)
    later = settled(settings)
    results, errors = run_together([
        lambda: payouts.create_payout(show.creator_id, "EUR", key="race-a", now=later),
        lambda: payouts.create_payout(show.creator_id, "EUR", key="race-b", now=later)])
    assert errors == []
    made = [p for p in results if p is not None]
    assert len(made) == 1 and made[0].amount == D("28.50")
    assert Payout.objects.count() == 1
    assert payouts.split(show.creator_id, "EUR", later).available == D("0.00")
