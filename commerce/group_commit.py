"""Group commit: the reservations that arrive while one is being written are written together.

In a rush every sale must pass the same pool's row lock, one transaction after another, and each
of those transactions pays its round trips and its commit (an fsync) while the others wait: the
lock, not the CPU, sets the pace. Here the threads of one web process that want to reserve at the
same moment hand their claims to one of them (the leader: whoever arrives while no batch is being
written), which writes them all in one transaction under one lock wait; the others wait for their
own outcome. Nothing waits for a batch to fill: a claim that finds no batch running becomes the
leader at once, so a quiet shop pays nothing, and in a rush each batch takes what queued up while
the last one was written.

Each claim still succeeds or fails on its own (the batch's `run` answers per claim). Should a
batch fail as a whole for any reason other than a refusal, each of its claims is run again alone,
so one bad claim cannot sink the others. Different processes still meet at the database's row
lock, which stays the guarantee against overselling.
"""
import threading
from collections.abc import Callable
from typing import Any

from microstage.errors import Conflict


class GroupCommit:
    """Run `run(claims) -> outcomes` (one outcome per claim: a result or an exception to raise) for
    batches of at most `max_batch` claims submitted by concurrent threads; one batch at a time."""

    def __init__(self, run: Callable[[list], list], max_batch: Callable[[], int],
                 on_wait: Callable[[], None] = lambda: None):
        self._run = run
        self._max_batch = max_batch
        self._on_wait = on_wait  # called once when a claim is going to wait for another thread's batch
        self._cond = threading.Condition()
        self._pending: list[_Ticket] = []
        self._running = False
        self.batches = 0  # how many batches were written (read by tests and the bench)

    def submit(self, claim) -> Any:
        ticket = _Ticket(claim)
        with self._cond:
            self._pending.append(ticket)
            must_wait = self._running
        if must_wait:
            self._on_wait()
        with self._cond:
            while not ticket.done and self._running:
                self._cond.wait()
            if not ticket.done:  # nobody is writing: lead a batch of this claim and the oldest queued ones
                self._running = True
                self._pending.remove(ticket)
                size = max(1, self._max_batch())
                batch, self._pending = [ticket, *self._pending[:size - 1]], self._pending[size - 1:]
        if not ticket.done:
            try:
                self._write(batch)
            finally:
                with self._cond:
                    self._running = False
                    self._cond.notify_all()
        return ticket.outcome()

    def _write(self, batch: list["_Ticket"]) -> None:
        self.batches += 1
        try:
            outcomes = self._run([t.claim for t in batch])
        except Conflict as exc:  # e.g. `busy`: the lock wait ran out for all of them alike
            outcomes = [exc] * len(batch)
        except BaseException as exc:
            if len(batch) == 1:
                outcomes = [exc]
            else:  # one claim may have broken the batch: each one alone, so the others still go through
                for ticket in batch:
                    self._write([ticket])
                return
        for ticket, outcome in zip(batch, outcomes, strict=True):
            ticket.result, ticket.done = outcome, True


class _Ticket:
    __slots__ = ("claim", "result", "done")

    def __init__(self, claim):
        self.claim, self.result, self.done = claim, None, False

    def outcome(self):
        return unwrap(self.result)


def unwrap(outcome):
    """An outcome of `run`: the result, or its exception raised."""
    if isinstance(outcome, BaseException):
        raise outcome
    return outcome
