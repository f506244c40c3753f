"""Order emails (paid, held, refunded receipts) are queued to the workers by task name once the order's
transaction commits: paying sends nothing in the paying thread, a rolled-back payment queues nothing, and
a broker that is away never undoes a payment."""
import pytest
from django.core import mail
from django.db import transaction

from commerce import services, tasks
from commerce.models import Order
from microstage.celery import app as celery_app
from microstage.permissions import SYSTEM

from .helpers import buy

pytestmark = pytest.mark.django_db


@pytest.fixture
def held_tasks(monkeypatch):
    """Tasks queued by name are kept, not run (as with a worker that has not taken them yet)."""
    held = []
    monkeypatch.setattr(celery_app, "send_task",
                        lambda name, args=None, **kw: held.append((name, list(args or ()))))
    return held


def test_the_task_is_registered_under_the_name_commerce_queues():
    assert services.EMAIL_TASK == tasks.send_order_email.name == "commerce.send_order_email"
    assert services.EMAIL_TASK in celery_app.tasks


def test_paying_queues_one_email_on_commit_and_sends_nothing_inline(catalog, sandbox, held_tasks,
                                                                    django_capture_on_commit_callbacks):
    order = buy(catalog.add("seat", {"tier:mail": 5}, price="9.00"))
    mail.outbox.clear()
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        services.sandbox_pay(order.pk)
        assert held_tasks == []  # nothing before the commit
    assert callbacks
    [(name, [order_id, what, token])] = held_tasks
    assert (name, order_id, what) == (services.EMAIL_TASK, order.pk, "paid") and token
    assert mail.outbox == []  # rendering and sending are the worker's
    name, args = held_tasks[0]
    celery_app.tasks[name].apply(args=args)  # the worker takes it
    assert len(mail.outbox) == 1 and mail.outbox[0].to == [order.email]


def test_a_refund_queues_its_email(catalog, sandbox, held_tasks, django_capture_on_commit_callbacks):
    order = buy(catalog.add("seat", {"tier:refund-mail": 5}, price="9.00"))
    with django_capture_on_commit_callbacks(execute=True):
        services.sandbox_pay(order.pk)
    held_tasks.clear()
    with django_capture_on_commit_callbacks(execute=True):
        services.refund(order.pk, actor=SYSTEM)
    assert [(name, args[:-1]) for name, args in held_tasks] == [(services.EMAIL_TASK, [order.pk, "refunded"])]


def test_a_rolled_back_payment_queues_nothing(catalog, sandbox, held_tasks, django_capture_on_commit_callbacks):
    order = buy(catalog.add("seat", {"tier:rollback": 5}, price="9.00"))
    with django_capture_on_commit_callbacks(execute=True):
        with pytest.raises(RuntimeError), transaction.atomic():
            services.sandbox_pay(order.pk)
            raise RuntimeError("something after the payment failed")
    assert held_tasks == []
    assert Order.objects.get(pk=order.pk).status != Order.Status.PAID


def test_a_broker_error_does_not_undo_the_payment(catalog, sandbox, monkeypatch, django_capture_on_commit_callbacks,
                                                   caplog):
    def broker_away(name, args=None, **kw):
        raise ConnectionError("broker unreachable")

    monkeypatch.setattr(celery_app, "send_task", broker_away)
    order = buy(catalog.add("seat", {"tier:broker": 5}, price="9.00"))
    mail.outbox.clear()
    with django_capture_on_commit_callbacks(execute=True):
        services.sandbox_pay(order.pk)
    assert Order.objects.get(pk=order.pk).status == Order.Status.PAID
    assert mail.outbox == []
    assert "could not be queued" in caplog.text


def test_a_task_delivered_twice_sends_its_email_once(catalog, sandbox, held_tasks, django_capture_on_commit_callbacks):
    """Late acknowledgement redelivers a task whose worker died; the delivery token makes the second
    delivery send nothing once the first has sent. A new refund is a new delivery, and is sent."""
    order = buy(catalog.add("seat", {"tier:twice": 5}, price="9.00"))
    with django_capture_on_commit_callbacks(execute=True):
        services.sandbox_pay(order.pk)
    [(name, args)] = held_tasks
    mail.outbox.clear()
    celery_app.tasks[name].apply(args=args)
    celery_app.tasks[name].apply(args=args)  # the same delivery again
    assert len(mail.outbox) == 1
    held_tasks.clear()
    for _ in range(2):  # two partial refunds: two deliveries, two emails
        with django_capture_on_commit_callbacks(execute=True):
            services.queued.after_commit(services.EMAIL_TASK, order.pk, "refunded")
    for name, args in held_tasks:
        celery_app.tasks[name].apply(args=args)
    assert len(mail.outbox) == 3
