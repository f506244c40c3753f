"""Group-buy settlement benchmark: a 5,000-participant group-buy settled in the sandbox.

Data is made with bulk_create (users, orders at list price, authorised manual-capture Payments,
participants), the group-buy's deadline already passed. Measured: `groupbuys.services.settle` — the same
per-participant path the Celery batch tasks take (cache lock, gateway capture → handler records the
participant and marks the order paid at the final price, order_paid receivers, the outcome email and the
order's receipt queued for the workers), minus Celery's queueing of batches and the pause between them. The
queued emails are counted here instead of going to the broker (no worker runs in the bench; two per
participant). Baseline
from the same run: as many bare gateway captures (`payments.capture` of authorised sandbox Payments whose
purpose has no handler), so the ratio is what settling costs on top of capturing. Standalone:
`python -m bench.settlement [n] [processes]`: with processes > 1 the participants are settled by that many
spawned worker processes running the batch task (as Celery workers would), their start-up not timed.
`python -m bench settlement` uses as many as deploy/Procfile's worker runs (`WORKER_CONCURRENCY`, 4). Debug is
off in every process (settings.DEBUG, which would also log every statement in memory).
"""
from __future__ import annotations

import json
import os
import sys
import time
from datetime import timedelta
from decimal import Decimal
from pathlib import Path

RESULTS = Path(__file__).resolve().parent / "results.json"


def _setup() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "microstage.settings")
    os.environ.setdefault("MICROSTAGE_DEBUG", "false")
    import django

    django.setup()
    from django.conf import settings

    # Production shape even inside the harness (which sets Django up with debug on for itself): with
    # DEBUG on, every statement is also logged in memory (connection.queries).
    settings.DEBUG = False


def _make(n: int, tag: str):
    from django.utils import timezone

    from groupbuys import services as groupbuys
    from commerce.models import Order, OrderLine
    from catalog.models import Product
    from groupbuys.models import GroupBuy, GroupBuyParticipant, GroupBuyPriceTier
    from microstage.ids import new_id
    from microstage.models import Creator, User
    from microstage.payments.models import Payment

    creator = Creator.objects.create(name=f"Bench GB {tag}", slug=f"bench-gb-{tag}")
    product = Product.objects.create(creator=creator, name="Bench shirt", price=Decimal("20.00"), currency="EUR")
    gb = GroupBuy.objects.create(creator=creator, product=product, deadline=timezone.now() - timedelta(minutes=1),
                                 currency="EUR", committed_quantity=n, title=f"Bench group-buy {tag}")
    GroupBuyPriceTier.objects.bulk_create([GroupBuyPriceTier(group_buy=gb, min_quantity=max(1, n // 10),
                                                             price=Decimal("15.00")),
                                           GroupBuyPriceTier(group_buy=gb, min_quantity=n, price=Decimal("12.00"))])
    users = User.objects.bulk_create([User(email=f"gb-{tag}-{i}@bench.invalid", display_name=f"Bench {i}",
                                           password="!") for i in range(n)], batch_size=1000)
    orders = Order.objects.bulk_create([
        Order(creator=creator, buyer=u, email=u.email, currency="EUR", status=Order.Status.AWAITING_PAYMENT,
              subtotal=Decimal("20.00"), total=Decimal("20.00"), expires_at=gb.deadline + timedelta(days=2))
        for u in users], batch_size=1000)
    OrderLine.objects.bulk_create([
        OrderLine(order=o, kind=groupbuys.KIND, item_id=gb.pk, description="Group-buy: bench",
                  unit_price=Decimal("20.00"), list_price=Decimal("20.00"), quantity=1, total=Decimal("20.00"))
        for o in orders], batch_size=1000)
    participants = [GroupBuyParticipant(group_buy=gb, user=u, quantity=1, order=o,
                                        status=GroupBuyParticipant.Status.AUTHORIZED)
                    for u, o in zip(users, orders, strict=True)]
    pays = Payment.objects.bulk_create([
        Payment(provider="sandbox", provider_reference=new_id("sbpi", 20), amount=Decimal("20.00"), currency="EUR",
                capture_method="manual", status="authorized", purpose=groupbuys.PURPOSE, reference=p.pk,
                description="bench") for p in participants], batch_size=1000)
    for p, pay in zip(participants, pays, strict=True):
        p.payment = pay
    GroupBuyParticipant.objects.bulk_create(participants, batch_size=1000)
    Order.objects.bulk_update([*_with_payment(orders, pays)], ["payment"], batch_size=1000)
    baseline = Payment.objects.bulk_create([
        Payment(provider="sandbox", provider_reference=new_id("sbpi", 20), amount=Decimal("20.00"), currency="EUR",
                capture_method="manual", status="authorized", purpose="bench.capture", reference=f"bench-{i}",
                description="bench baseline") for i in range(n)], batch_size=1000)
    return creator, gb, users, [p.pk for p in baseline]


def _with_payment(orders, pays):
    for o, pay in zip(orders, pays, strict=True):
        o.payment = pay
        yield o


def _cleanup(creator, gb, users, baseline_ids) -> None:
    from commerce.models import Order
    from groupbuys.models import GroupBuyParticipant
    from fulfilment.models import Shipment, ShippingBatch
    from payouts.models import LedgerEntry
    from microstage.payments.models import Payment, ProcessedEvent

    order_ids = list(Order.objects.filter(creator=creator).values_list("pk", flat=True))
    pay_ids = list(Payment.objects.filter(reference__in=GroupBuyParticipant.objects.filter(group_buy=gb)
                                          .values("pk")).values_list("pk", flat=True)) + list(baseline_ids)
    LedgerEntry.objects.filter(creator=creator).delete()
    # Settling made a shipping batch (fulfilment.services); its parcels protect the orders.
    Shipment.objects.filter(order_id__in=order_ids).delete()
    ShippingBatch.objects.filter(group_buy=gb).delete()
    GroupBuyParticipant.objects.filter(group_buy=gb).delete()
    Order.objects.filter(pk__in=order_ids).delete()
    ProcessedEvent.objects.filter(payment_id__in=pay_ids).delete()
    Payment.objects.filter(pk__in=pay_ids).delete()
    gb.delete()
    creator.products.all().delete()
    creator.delete()
    type(users[0]).objects.filter(pk__in=[u.pk for u in users]).delete()


def _settle_worker(ready, batches, done) -> None:
    """One spawned process standing in for a Celery worker (spawned, not forked: a fork would share the
    parent's database connections and pool). It sets Django up, says it is ready, then runs the batch task
    `commerce.settle_group_buy_batch` eagerly for each batch it is given (its SETTLE_CONCURRENCY threads,
    the provider's rate window in Redis, as on a worker), and reports the emails it queued."""
    _setup()
    from celery import current_app
    from django.conf import settings

    from groupbuys import tasks

    settings.PAYMENTS_PROVIDER = "sandbox"
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    queued: list[tuple] = []
    current_app.send_task = lambda name, args=None, **kw: queued.append((name, *(args or ())))
    ready.put(os.getpid())
    settled, errors = 0, []
    while (job := batches.get()) is not None:
        gb_id, ids = job
        try:
            settled += tasks.settle_group_buy_batch.apply(args=[gb_id, ids], throw=True).get()
        except Exception as exc:  # reported to the parent: the run then fails its check
            errors.append(repr(exc))
    done.put((settled, queued, errors))


def _settle_in_processes(gb_id: str, processes: int):
    """Start `processes` workers for the Celery batch path and wait until each is ready; returns them, their
    inboxes, the unsettled participants split into GROUP_BUY_BATCH batches (to deal round-robin) and the
    queue their reports come back on. The caller times from here: deal, wait, finish."""
    import multiprocessing

    from groupbuys import services as groupbuys
    from groupbuys.tasks import GROUP_BUY_BATCH

    ids = groupbuys.unsettled_participants(gb_id)
    batches = [ids[i:i + GROUP_BUY_BATCH] for i in range(0, len(ids), GROUP_BUY_BATCH)]
    ctx = multiprocessing.get_context("spawn")
    ready, done = ctx.Queue(), ctx.Queue()
    inboxes = [ctx.Queue() for _ in range(processes)]
    workers = [ctx.Process(target=_settle_worker, args=(ready, inbox, done)) for inbox in inboxes]
    for w in workers:
        w.start()
    for _ in workers:
        ready.get(timeout=120)
    return workers, inboxes, batches, done


def run(n: int = 5000, processes: int = 1) -> dict:
    from django.conf import settings

    debug = settings.DEBUG if settings.configured else None
    try:
        return _run(n, processes)
    finally:
        if debug is not None:  # the harness's own setting, for the benches after this one
            settings.DEBUG = debug


def _run(n: int, processes: int) -> dict:
    _setup()
    from celery import current_app
    from django.conf import settings

    from groupbuys import services as groupbuys
    from groupbuys.tasks import GROUP_BUY_BATCH
    from commerce import services as commerce
    from commerce.models import Order
    from groupbuys.models import GroupBuyParticipant
    from microstage.payments import services as payments
    from microstage.payments.models import Payment

    settings.PAYMENTS_PROVIDER = "sandbox"
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"  # 5,000 emails, not on the console
    queued: list[tuple] = []  # emails settlement queues by task name (list.append is thread-safe)
    current_app.send_task = lambda name, args=None, **kw: queued.append((name, *(args or ())))
    tag = str(int(time.time()))
    t0 = time.perf_counter()
    creator, gb, users, baseline_ids = _make(n, tag)
    setup_s = time.perf_counter() - t0
    try:
        t0 = time.perf_counter()
        for pid in baseline_ids:
            payments.capture(pid, Decimal("12.00"))
        base_s = time.perf_counter() - t0
        errors: list[str] = []
        if processes > 1:
            groupbuys.begin_settlement(gb.pk)  # decided before the workers start (settle_group_buy's first step)
            workers, inboxes, batches, done = _settle_in_processes(gb.pk, processes)
            t0 = time.perf_counter()  # every worker is up: from here on only settling is timed
            for i, batch in enumerate(batches):
                inboxes[i % processes].put((gb.pk, batch))
            for inbox in inboxes:
                inbox.put(None)
            for _ in workers:
                _settled, their_queued, their_errors = done.get(timeout=3600)
                queued.extend(their_queued)
                errors.extend(their_errors)
            settled = groupbuys.finish_settlement(gb.pk)
            settle_s = time.perf_counter() - t0
            for w in workers:
                w.join(timeout=60)
        else:
            t0 = time.perf_counter()
            settled = groupbuys.settle(gb.pk)
            settle_s = time.perf_counter() - t0
        captured = GroupBuyParticipant.objects.filter(group_buy=gb, status="captured",
                                                      charged_amount=Decimal("12.00")).count()
        paid = Order.objects.filter(creator=creator, status="paid", total=Decimal("12.00")).count()
        pays = Payment.objects.filter(purpose=groupbuys.PURPOSE, status="captured",
                                      captured_amount=Decimal("12.00"),
                                      reference__in=GroupBuyParticipant.objects.filter(group_buy=gb).values("pk"))
        emails = {q for q in queued if q[0] == groupbuys.EMAIL_TASK}  # (task, participant, "charged")
        receipts = {q for q in queued if q[0] == commerce.EMAIL_TASK}  # (task, order, "paid")
        ok = (settled.status == "settled" and captured == paid == pays.count() == n == len(emails) == len(receipts)
              and len(queued) == 2 * n and not errors)
    finally:
        _cleanup(creator, gb, users, baseline_ids)
    rate, base_rate = n / settle_s, n / base_s
    db = settings.DATABASES["default"]
    where = ("In-process, one Python process" if processes == 1 else
             f"{processes} worker processes (spawned, each running the batch task commerce.settle_group_buy_batch "
             f"on {GROUP_BUY_BATCH} batches dealt round-robin; their start-up not timed)")
    conditions = (f"{where}, sandbox provider, database {db.get('HOST') or 'local'}:"
                  f"{db.get('PORT') or ''}/{db.get('NAME')}, {os.cpu_count()} CPUs shared with other work "
                  f"(loadavg {os.getloadavg()[0]:.2f}). Setup by bulk_create took {setup_s:.1f} s (not measured).")
    return {
        "groupbuy_settle_participants_per_s": {
            "value": round(rate, 1), "unit": "participants/s", "baseline": round(base_rate, 1),
            "ratio": round(rate / base_rate, 3),
            "notes": (f"Settling a {n}-participant group-buy (1 unit each, list 20.00 → top tier 12.00, reached "
                      f"exactly at its threshold) with "
                      f"groupbuys.services.settle: per participant a cache lock, a gateway capture of 12.00 of the "
                      f"20.00 authorised, the handler marking the participant captured and its order paid at "
                      f"the final total (order_paid receivers incl. the ledger), its outcome email and its "
                      f"order's receipt queued (to a counter here: no worker runs in the bench). "
                      f"{n / 1000:g}k in {settle_s:.1f} s. BASELINE: {n} bare payments.capture calls of "
                      f"authorised sandbox payments with no handler, same run: {base_s:.1f} s. Ratio < 1 = "
                      f"slower than bare captures. Celery's queueing of the {GROUP_BUY_BATCH}-participant "
                      f"batches is not included; the sandbox has no rate limit, so batches are not spaced out. "
                      f"Verified: {'PASS' if ok else 'FAIL'} — every "
                      f"participant captured once at 12.00, every order paid at 12.00, one outcome email and one "
                      f"receipt queued for each. "
                      f"{settings.SETTLE_CONCURRENCY} settling threads per process, debug off. "
                      f"{'Worker errors: ' + '; '.join(errors[:3]) + '. ' if errors else ''}{conditions}"),
            "pass": ok,
        },
    }


def main() -> int:
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 5000
    processes = int(sys.argv[2]) if len(sys.argv) > 2 else 1
    figures = run(n, processes)
    results = json.loads(RESULTS.read_text()) if RESULTS.exists() else {}
    results.update(figures)
    RESULTS.write_text(json.dumps(results, indent=2) + "\n")
    print(json.dumps(figures, indent=2))
    return 0 if all(f.get("pass", True) for f in figures.values()) else 1


if __name__ == "__main__":
    sys.exit(main())
