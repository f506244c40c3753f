"""Disputes by webhook: the order is flagged, the team told, the amount held; twice and out of order, once."""
from decimal import Decimal

from django.core import mail

from commerce import services
from payouts import money
from commerce.models import Order
from payouts.models import Dispute, LedgerEntry
from commerce.services import LineRequest
from microstage.models import Creator, Role
from microstage.tests.factories import UserFactory, team_member

from commerce.tests.helpers import KIND
from commerce.tests.money_helpers import awaiting_stripe, dispute, intent_succeeded

D = Decimal


def paid_order(catalog, intent: str):
    catalog.add("a", {"pool:a": 5}, price="40.00")
    order = services.reserve(requests=[LineRequest(KIND, "a", 1)], buyer=UserFactory())
    payment = awaiting_stripe(order, intent)
    assert intent_succeeded(payment, f"evt_paid_{intent}") == 200
    return Order.objects.get(pk=order.pk), payment


def kinds(order_id):
    return sorted((e.kind, e.amount) for e in LedgerEntry.objects.filter(order_id=order_id))


def test_dispute_opened_twice_then_won_twice(catalog, fake_stripe, django_capture_on_commit_callbacks):
    creator = Creator.objects.get(pk=catalog.creator_id)
    owner, manager = team_member(creator, Role.OWNER), team_member(creator, Role.MANAGER)
    door = team_member(creator, Role.DOOR)
    order, payment = paid_order(catalog, "pi_d1")
    mail.outbox.clear()
    with django_capture_on_commit_callbacks(execute=True):
        assert dispute(payment, "evt_dc", "dp_1") == 200
        assert dispute(payment, "evt_dc", "dp_1") == 200
        assert dispute(payment, "evt_dc_again", "dp_1") == 200  # a second event about the same dispute
    d = Dispute.objects.get()
    assert (d.order_id, d.amount, d.status, d.reason) == (order.pk, D("40.00"), "open", "fraudulent")
    assert "Disputed" in Order.objects.get(pk=order.pk).note
    assert kinds(order.pk) == [("dispute_hold", D("-40.00")), ("fee", D("-2.00")), ("sale", D("40.00"))]
    assert money.balance(creator.pk, "EUR").disputes_held == D("-40.00")
    assert list(money.open_disputes(creator.pk)) == [d]
    assert len(mail.outbox) == 1 and sorted(mail.outbox[0].to) == sorted([owner.email, manager.email])
    assert door.email not in mail.outbox[0].to and order.pk in mail.outbox[0].body
    with django_capture_on_commit_callbacks(execute=True):
        for event_id in ("evt_won", "evt_won", "evt_won_again"):
            assert dispute(payment, event_id, "dp_1", kind="closed", status="won") == 200
    d.refresh_from_db()
    assert d.status == "won" and d.resolved_at
    assert kinds(order.pk) == [("dispute_hold", D("-40.00")), ("dispute_release", D("40.00")), ("fee", D("-2.00")),
                               ("sale", D("40.00"))]
    bal = money.balance(creator.pk, "EUR")
    assert (bal.disputes_held, bal.disputes_lost, bal.available) == (D("0.00"), D("0.00"), D("38.00"))
    assert "won" in Order.objects.get(pk=order.pk).note
    assert len(mail.outbox) == 2


def test_dispute_lost_keeps_the_money_out(catalog, fake_stripe):
    order, payment = paid_order(catalog, "pi_d2")
    dispute(payment, "evt_o2", "dp_2")
    dispute(payment, "evt_l2", "dp_2", kind="closed", status="lost")
    dispute(payment, "evt_w2", "dp_2", kind="closed", status="won")  # a contradicting late notice: ignored
    assert Dispute.objects.get().status == "lost"
    bal = money.balance(order.creator_id, "EUR")
    assert (bal.disputes_held, bal.disputes_lost, bal.net, bal.available) == (
        D("0.00"), D("-40.00"), D("-2.00"), D("-2.00"))


def test_closed_before_created(catalog, fake_stripe, django_capture_on_commit_callbacks):
    creator = Creator.objects.get(pk=catalog.creator_id)
    team_member(creator, Role.OWNER)
    order, payment = paid_order(catalog, "pi_d3")
    mail.outbox.clear()
    with django_capture_on_commit_callbacks(execute=True):
        assert dispute(payment, "evt_closed_first", "dp_3", kind="closed", status="lost", amount=D("15.00")) == 200
        assert dispute(payment, "evt_created_late", "dp_3") == 200
        assert dispute(payment, "evt_closed_first", "dp_3", kind="closed", status="lost") == 200
    d = Dispute.objects.get()
    assert (d.status, d.amount) == ("lost", D("15.00"))
    assert kinds(order.pk) == [("dispute_hold", D("-15.00")), ("dispute_loss", D("-15.00")),
                               ("dispute_release", D("15.00")), ("fee", D("-2.00")), ("sale", D("40.00"))]
    assert len(mail.outbox) == 1 and "lost" in mail.outbox[0].subject
    assert Order.objects.get(pk=order.pk).status == Order.Status.PAID


def test_dispute_for_an_unknown_payment_is_recorded_and_ignored(catalog, fake_stripe):
    order, payment = paid_order(catalog, "pi_d4")
    payment.provider_reference = "pi_elsewhere"
    assert dispute(payment, "evt_foreign", "dp_4") == 200
    assert not Dispute.objects.exists()


def test_money_page_shows_open_disputes(catalog, fake_stripe):
    from django.test import Client

    creator = Creator.objects.get(pk=catalog.creator_id)
    owner = team_member(creator, Role.OWNER)
    order, payment = paid_order(catalog, "pi_d5")
    dispute(payment, "evt_o5", "dp_5")
    client = Client()
    client.force_login(owner)
    html = client.get("/dashboard/money/").content.decode()
    assert "Open disputes" in html and order.pk in html and "fraudulent" in html


def test_admin_lists_disputes_ledger_and_tips(catalog, fake_stripe):
    from django.test import Client

    order, payment = paid_order(catalog, "pi_d6")
    dispute(payment, "evt_o6", "dp_6")
    client = Client()
    client.force_login(UserFactory(is_staff=True, is_superuser=True))
    for name in ("dispute", "ledgerentry", "tip"):
        assert client.get(f"/admin/payouts/{name}/").status_code == 200
    assert "dp_6" in client.get("/admin/payouts/dispute/").content.decode()
