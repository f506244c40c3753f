"""The work one settled participant costs (issue 11 item 6): its email is queued to the workers, not
sent in the settling thread; the paid order's lines are read once for the apps and the order_paid
receivers; the ledger's sale and fee are one INSERT; the statements stay under a budget."""
from decimal import Decimal

import pytest
from django.apps import apps
from django.core import mail
from django.db import connection
from django.test.utils import CaptureQueriesContext

from commerce.services import EMAIL_TASK as ORDER_EMAIL_TASK
from groupbuys import services as groupbuys
from groupbuys.models import GroupBuyParticipant
from microstage.celery import app as celery_app
from microstage.notifications.models import Notification

from groupbuys.tests.groupbuy_helpers import group_buy, join, past_deadline

pytestmark = pytest.mark.django_db
# The receivers' apps sit above group-buys (layers): their models are looked up by name.
LedgerEntry, LoyaltyEntry = apps.get_model("payouts", "LedgerEntry"), apps.get_model("memberships", "LoyaltyEntry")
# One participant: 24 statements (34 before issue 11 item 6 cut them): the participant read once (with whether
# a charge was captured already and what its join authorised), the Payment locked once and not read again
# after the capture, its event recorded in one INSERT, the loyalty points booked without reading the buyer,
# and no order email rendered in the settling thread (queued to the workers).
STATEMENTS = 24


@pytest.fixture(autouse=True)
def _sandbox(settings):
    settings.PAYMENTS_PROVIDER = "sandbox"


@pytest.fixture
def held_tasks(monkeypatch):
    """Tasks queued by name are kept, not run (as with a worker that has not taken them yet)."""
    held = []
    monkeypatch.setattr(celery_app, "send_task", lambda name, args=None, **kw: held.append((name, list(args))))
    return held


def _settle_one(django_capture_on_commit_callbacks):
    gb = group_buy(tiers=[{"min_quantity": 1, "price": "8.00"}])
    participant = join(gb, 2).participant
    past_deadline(gb)
    groupbuys.begin_settlement(gb.pk)
    mail.outbox.clear()
    with CaptureQueriesContext(connection) as queries, django_capture_on_commit_callbacks(execute=True):
        assert groupbuys.settle_participant(participant.pk) == "captured"
    return participant, [q["sql"] for q in queries.captured_queries]


def test_the_email_is_queued_not_sent_while_settling(django_capture_on_commit_callbacks, held_tasks):
    participant, _ = _settle_one(django_capture_on_commit_callbacks)
    order_id = GroupBuyParticipant.objects.get(pk=participant.pk).order_id
    # The outcome and the order's receipt, both queued once the settlement committed; nothing sent inline.
    assert sorted((name, args[:-1]) for name, args in held_tasks) == sorted(
        [(groupbuys.EMAIL_TASK, [participant.pk, "charged"]), (ORDER_EMAIL_TASK, [order_id, "paid"])])
    assert all(len(args[-1]) == 32 for _, args in held_tasks)  # each with its delivery token
    assert not Notification.objects.filter(kind="group_buy_succeeded").exists()
    assert mail.outbox == []
    for name, args in held_tasks:
        with django_capture_on_commit_callbacks(execute=True):
            celery_app.tasks[name].apply(args=args)  # the worker sends it
    assert Notification.objects.filter(kind="group_buy_succeeded", status="sent").count() == 1
    assert sum("Group-buy done" in m.subject for m in mail.outbox) == 1
    assert len(mail.outbox) == 2  # and the order's receipt


def test_one_participant_within_the_statement_budget(django_capture_on_commit_callbacks, held_tasks):
    participant, sql = _settle_one(django_capture_on_commit_callbacks)
    statements = [s for s in sql if not s.startswith(("SAVEPOINT", "RELEASE SAVEPOINT", "BEGIN", "COMMIT"))]
    assert len(statements) <= STATEMENTS, "\n".join(statements)
    # The lines are read once while the order is paid (repriced, added up, delivered, receivers)...
    reads = [s for s in sql if s.startswith("SELECT") and 'FROM "commerce_orderline"' in s
             and "list_price\" AS" not in s]
    assert len(reads) <= 1, "\n".join(reads)  # the paid order's read (its receipt is rendered by a worker)
    # Settling one participant never locks the group-buy's row (the other settling threads would wait on it).
    locks = [s for s in sql if " FOR UPDATE" in s and 'JOIN "commerce_groupbuy"' in s]
    assert locks and all('FOR UPDATE OF "commerce_groupbuyparticipant"' in s for s in locks), locks
    # ...and the ledger's sale and fee are one INSERT, with no read of their keys first.
    ledger = [s for s in sql if '"commerce_ledgerentry"' in s]
    assert len(ledger) == 1 and ledger[0].startswith("INSERT"), ledger
    # Every guarantee still holds: captured once at the final price, booked once.
    p = GroupBuyParticipant.objects.select_related("order", "payment").get(pk=participant.pk)
    assert (p.status, p.charged_amount, p.payment.captured_amount) == ("captured", Decimal("16.00"),
                                                                         Decimal("16.00"))
    assert (p.order.status, p.order.total) == ("paid", Decimal("16.00"))
    assert sorted(LedgerEntry.objects.filter(order=p.order).values_list("kind", flat=True)) == ["fee", "sale"]
    assert LoyaltyEntry.objects.filter(key=f"order:{p.order_id}").count() == 1


def test_settling_again_books_nothing_twice(django_capture_on_commit_callbacks, held_tasks):
    participant, _ = _settle_one(django_capture_on_commit_callbacks)
    p = GroupBuyParticipant.objects.get(pk=participant.pk)
    assert groupbuys.settle_participant(p.pk) == "captured"
    order = p.order
    from commerce.services import deliver_paid_order  # a second delivery (e.g. a risk approval replayed)

    deliver_paid_order(order)
    assert LedgerEntry.objects.filter(order=order).count() == 2
    assert LoyaltyEntry.objects.filter(key=f"order:{order.pk}").count() == 1
    assert len(held_tasks) == 2  # the outcome and the receipt, queued once
