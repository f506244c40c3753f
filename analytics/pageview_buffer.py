"""Page views are buffered in Redis and written to the database in batches.

A landing page under a rush is viewed thousands of times a minute; one INSERT (plus a visitor
upsert) per view made tracking the most expensive part of serving it. A view is now one RPUSH of a
small JSON record onto a Redis list. `flush()` (the Celery task `analytics.flush_page_views`, queued
by beat every PAGEVIEW_FLUSH_SECONDS) moves what is buffered aside with an atomic RENAME to a batch
key named after a fresh batch id, then writes the batch — missing visitors, the views with their
original times, and a PageViewBatch row with that id — in one transaction, and only then deletes
the batch key. So no view is lost when a web process, the worker or Redis' client restarts:

- a view is either still in the buffer (the next flush takes it) or in a batch key;
- a batch key left behind by a flush that died is written by the next flush;
- a batch that was committed but whose key survived (death between COMMIT and DEL) is recognised by
  its PageViewBatch row and only deleted, so no view is counted twice.
"""
import json
import logging
import uuid
from datetime import UTC, datetime

from django.conf import settings
from django.db import IntegrityError, transaction

from microstage.redis_client import client

from .models import PageView, PageViewBatch, Visitor

log = logging.getLogger(__name__)
BUFFER = "analytics:pageviews:buffer"
BATCH_PREFIX = "analytics:pageviews:batch:"
CHUNK = 2000


def _key(name: str) -> str:
    return f"ms:{settings.REDIS_DB_OFFSET}:{name}"


def entry(*, visitor_id: str, page: str, event_id: str, creator_id: str, variant: str, at: datetime) -> str:
    """One view as the buffer holds it."""
    record = {"v": visitor_id, "p": page, "e": event_id, "c": creator_id, "x": variant, "t": at.timestamp()}
    return json.dumps(record, separators=(",", ":"))


def buffer_key() -> str:
    """The Redis list of buffered views (analytics.page_asgi pushes onto it with its own async client)."""
    return _key(BUFFER)


def buffer(record: str) -> None:
    client().rpush(buffer_key(), record)


def pending() -> int:
    """Views buffered or in unwritten batches (for tests and the admin)."""
    r = client()
    return r.llen(_key(BUFFER)) + sum(r.llen(k) for k in r.scan_iter(_key(BATCH_PREFIX) + "*"))


def flush() -> int:
    """Write every buffered view to the database; returns how many were written."""
    r = client()
    batch_id = uuid.uuid4().hex
    try:
        r.rename(_key(BUFFER), _key(BATCH_PREFIX) + batch_id)
    except Exception as exc:  # nothing buffered: RENAME of a missing key is an error
        if "no such key" not in str(exc).lower():
            raise
    written = 0
    for key in sorted(k.decode() if isinstance(k, bytes) else k for k in r.scan_iter(_key(BATCH_PREFIX) + "*")):
        written += _write_batch(r, key, key.rsplit(":", 1)[1])
    return written


def _write_batch(r, key: str, batch_id: str) -> int:
    if PageViewBatch.objects.filter(pk=batch_id).exists():  # committed before; its key outlived it
        r.delete(key)
        return 0
    records = [json.loads(raw) for raw in r.lrange(key, 0, -1)]
    try:
        with transaction.atomic():
            PageViewBatch.objects.create(id=batch_id, views=len(records))
            for start in range(0, len(records), CHUNK):
                chunk = records[start:start + CHUNK]
                Visitor.objects.bulk_create([Visitor(pk=v) for v in {rec["v"] for rec in chunk}],
                                            ignore_conflicts=True)
                PageView.objects.bulk_create([
                    PageView(visitor_id=rec["v"], page=rec["p"], event_id=rec["e"], creator_id=rec["c"],
                             variant=rec["x"], created_at=datetime.fromtimestamp(rec["t"], tz=UTC))
                    for rec in chunk])
    except IntegrityError:  # another flush wrote this batch at the same moment
        log.info("page-view batch %s written elsewhere", batch_id)
        return 0
    r.delete(key)
    return len(records)
