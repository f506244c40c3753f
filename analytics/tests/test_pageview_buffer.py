"""Page views buffered in Redis and written in batches by the beat task (analytics/pageview_buffer.py):
no row per view, cached pages counted too, and no view lost or counted twice across a restart."""
import pytest
from django.test import Client
from django.utils import timezone

from analytics import pageview_buffer
from analytics.models import PageView, PageViewBatch
from analytics.tasks import flush_page_views
from events.tests.factories import EventFactory, TierFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def event():
    event = EventFactory(venue_capacity=100)
    TierFactory(event=event)
    return event


def test_views_of_cached_pages_are_buffered_then_flushed(event, django_assert_max_num_queries):
    Client().get(event.get_absolute_url())
    for _ in range(3):
        with django_assert_max_num_queries(4):
            assert Client().get(event.get_absolute_url())["X-Page-Cache"] == "hit"
    assert PageView.objects.count() == 0  # tracked, but no row per view
    assert pageview_buffer.pending() == 4
    assert flush_page_views.apply().get() == 4
    assert PageView.objects.filter(page="event", event_id=event.pk).count() == 4
    assert pageview_buffer.pending() == 0


class TestNoViewLost:
    def test_a_batch_left_by_a_flush_that_died_is_written_by_the_next(self, event):
        for _ in range(3):
            Client().get(event.get_absolute_url())
        r = pageview_buffer.client()
        # A flush died after moving the buffer aside (before writing): the batch key is left over.
        r.rename(pageview_buffer._key(pageview_buffer.BUFFER), pageview_buffer._key(pageview_buffer.BATCH_PREFIX)
                 + "deadbeef")
        Client().get(event.get_absolute_url())  # a new view meanwhile
        assert flush_page_views.apply().get() == 4
        assert PageView.objects.count() == 4 and pageview_buffer.pending() == 0

    def test_a_batch_written_but_not_deleted_is_not_counted_twice(self, event, monkeypatch):
        for _ in range(2):
            Client().get(event.get_absolute_url())
        r = pageview_buffer.client()
        real_delete = r.delete
        monkeypatch.setattr(type(r), "delete", lambda self, *keys: 0)  # the process died before DEL
        assert flush_page_views.apply().get() == 2
        monkeypatch.undo()
        assert pageview_buffer.pending() == 2  # the batch key outlived the write
        assert flush_page_views.apply().get() == 0
        assert PageView.objects.count() == 2 and PageViewBatch.objects.count() == 1
        assert pageview_buffer.pending() == 0
        del real_delete

    def test_views_keep_their_time(self, event):
        Client().get(event.get_absolute_url())
        before_flush = timezone.now()
        flush_page_views.apply().get()
        assert PageView.objects.get().created_at <= before_flush
