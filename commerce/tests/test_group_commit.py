"""commerce.group_commit: claims of concurrent threads are written in batches, each with its own outcome."""
import threading
import time

import pytest

from commerce.group_commit import GroupCommit
from microstage.errors import Conflict


def submit_all(batcher, claims):
    barrier = threading.Barrier(len(claims))
    out, lock = {}, threading.Lock()

    def run(claim):
        barrier.wait(timeout=10)
        try:
            value = batcher.submit(claim)
        except Exception as exc:
            value = exc
        with lock:
            out[claim] = value

    threads = [threading.Thread(target=run, args=(c,)) for c in claims]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=30)
    assert not any(t.is_alive() for t in threads)
    return out


def test_alone_a_claim_is_written_at_once():
    seen = []
    batcher = GroupCommit(lambda claims: seen.append(list(claims)) or [c * 2 for c in claims], max_batch=lambda: 10)
    assert batcher.submit(21) == 42
    assert seen == [[21]] and batcher.batches == 1


def test_concurrent_claims_share_batches_and_get_their_own_outcomes():
    sizes = []

    def run(claims):
        sizes.append(len(claims))
        time.sleep(0.02)  # a transaction being written: the others queue meanwhile
        return [Conflict("no", code="sold_out") if c % 3 == 0 else c * 10 for c in claims]

    batcher = GroupCommit(run, max_batch=lambda: 8)
    out = submit_all(batcher, list(range(1, 41)))
    assert sum(sizes) == 40 and max(sizes) <= 8  # every claim written once, batches capped
    assert len(sizes) < 40  # some shared a batch
    for claim, value in out.items():
        if claim % 3 == 0:
            assert isinstance(value, Conflict) and value.code == "sold_out"
        else:
            assert value == claim * 10


def test_a_claim_that_breaks_its_batch_fails_alone():
    calls = []

    def run(claims):
        calls.append(list(claims))
        time.sleep(0.01)
        if "bad" in claims:
            raise ValueError("bad claim")
        return [c.upper() for c in claims]

    batcher = GroupCommit(run, max_batch=lambda: 50)
    claims = ["bad", *[f"c{i}" for i in range(15)]]
    out = submit_all(batcher, claims)
    assert isinstance(out["bad"], ValueError)
    assert all(out[c] == c.upper() for c in claims if c != "bad")


def test_a_refusal_of_the_whole_batch_reaches_every_claim():
    def run(claims):
        time.sleep(0.01)
        raise Conflict("busy", code="busy")

    out = submit_all(GroupCommit(run, max_batch=lambda: 50), list(range(10)))
    assert all(isinstance(v, Conflict) and v.code == "busy" for v in out.values())


def test_a_waiting_claim_is_told_before_it_waits():
    waited = []
    started = threading.Event()

    def run(claims):
        started.set()
        time.sleep(0.05)
        return claims

    batcher = GroupCommit(run, max_batch=lambda: 10, on_wait=lambda: waited.append(threading.get_ident()))
    first = threading.Thread(target=batcher.submit, args=(1,))
    first.start()
    started.wait(5)
    assert batcher.submit(2) == 2  # arrived while 1 was being written: waited, then led its own batch
    first.join(5)
    assert waited == [threading.get_ident()]


@pytest.mark.parametrize("n", [1, 2, 64])
def test_no_claim_is_lost(n):
    batcher = GroupCommit(lambda claims: list(claims), max_batch=lambda: 3)
    out = submit_all(batcher, list(range(n)))
    assert out == {i: i for i in range(n)}
