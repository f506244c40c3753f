"""Work handed to the Celery workers once a transaction commits, done once per hand-over.

`after_commit(name, *args)` queues the task registered under `name` when the current transaction
commits: nothing if it rolls back, and a broker that is away is logged for staff, never undoing what
committed. It adds a delivery token as the task's last argument. The task runs its work through
`once(token, work)`: with late acknowledgement (CELERY_TASK_ACKS_LATE) a task whose worker died is
delivered again, and once the first delivery finished its work the token makes a second one do nothing
(an email is not sent twice). A worker dying between the work and marking it done can still repeat it:
at least once, never lost.
"""
import logging
import uuid
from collections.abc import Callable

from celery import current_app
from django.core.cache import cache
from django.db import transaction

log = logging.getLogger(__name__)
PREFIX = "task-done:"
DONE_SECONDS = 7 * 24 * 3600  # longer than any redelivery


def after_commit(name: str, *args) -> None:
    token = uuid.uuid4().hex
    transaction.on_commit(lambda: _send(name, [*args, token]))


def _send(name: str, args: list) -> None:
    try:
        current_app.send_task(name, args=args)
    except Exception:  # what committed stays committed; logged for staff
        log.exception("task %s %s could not be queued", name, args[:-1])


def once(token: str, work: Callable[[], None]) -> bool:
    """Do `work` unless this delivery token's work was done already; True when it ran now."""
    if token and _done(token):
        log.info("task delivery %s was done already: not repeated", token)
        return False
    work()
    if token:
        try:
            cache.set(PREFIX + token, 1, DONE_SECONDS)
        except Exception:
            log.warning("task delivery %s not marked done", token, exc_info=True)
    return True


def _done(token: str) -> bool:
    try:
        return bool(cache.get(PREFIX + token))
    except Exception:  # Redis trouble: do the work (at least once)
        log.warning("task delivery %s unreadable", token, exc_info=True)
        return False
