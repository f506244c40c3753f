"""Celery tasks for group-buys (thin: they call services). Registered names keep the "commerce." prefix
they had before the app left commerce, so queued tasks and the beat schedule still find them."""
from celery import shared_task


# --- group-buys ----------------------------------------------------------------------------------
# Settlement survives restarts: nothing waits in memory for a deadline. Every minute the beat finds
# open group-buys past their deadline and decided ones not yet settled, and queues them; each is
# decided once (under its row lock) and its participants are settled in batches, a task each, spaced
# out so captures stay under the provider's rate limits. Rate-limited batches retry with a countdown.
# Every capture also takes a slot of the provider's per-second rate (groupbuys/settle_runner.py), so
# batches running at once never exceed it; spacing them by what the rate allows keeps workers from
# sitting in that wait.
GROUP_BUY_BATCH = 50


def batch_spacing() -> float:
    """Seconds between queued batches: a batch's worth of the provider's rate (0 without a limit)."""
    from .settle_runner import rate_limit

    rate = rate_limit()
    return GROUP_BUY_BATCH / rate if rate > 0 else 0.0


@shared_task(name="commerce.settle_due_group_buys", ignore_result=True)
def settle_due_group_buys() -> int:
    from django.core.cache import cache

    from . import services as groupbuys

    groupbuys.drop_stale_pending()
    queued = 0
    for gb_id in groupbuys.due_group_buys():
        # A run already queued in the last two minutes is not queued again (batches may still run).
        if cache.add(f"groupbuy:queued:{gb_id}", 1, 120):
            settle_group_buy.delay(gb_id)
            queued += 1
    return queued


@shared_task(name="commerce.settle_group_buy", ignore_result=True)
def settle_group_buy(group_buy_id: str) -> int:
    """Decide the outcome, then queue the unsettled participants in batches."""
    from . import services as groupbuys

    groupbuys.begin_settlement(group_buy_id)
    ids = groupbuys.unsettled_participants(group_buy_id)
    spacing = batch_spacing()
    for n, start in enumerate(range(0, len(ids), GROUP_BUY_BATCH)):
        settle_group_buy_batch.apply_async((group_buy_id, ids[start:start + GROUP_BUY_BATCH]),
                                           countdown=n * spacing)
    if not ids:
        groupbuys.finish_settlement(group_buy_id)
    return len(ids)


@shared_task(name="commerce.settle_group_buy_batch", bind=True, ignore_result=True, max_retries=8)
def settle_group_buy_batch(self, group_buy_id: str, participant_ids: list[str]) -> int:
    """Settle some participants; on a rate limit, retry the batch later (finished ones are skipped)."""
    from . import services as groupbuys

    done = groupbuys.settle_batch(group_buy_id, participant_ids)
    if done.rate_limited:
        raise self.retry(countdown=min(300, 2 ** self.request.retries * 5))
    return done.settled


@shared_task(name="groupbuys.send_group_buy_email", ignore_result=True)
def send_group_buy_email(participant_id: str, what: str, token: str = "") -> None:
    """A participant's outcome email, queued by settlement once its transaction committed
    (groupbuys.services.EMAIL_TASK); a second delivery of the same token sends nothing."""
    from . import services as groupbuys

    groupbuys.send_group_buy_email(participant_id, what, token)
