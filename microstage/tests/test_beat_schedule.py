"""Every beat entry names a task registered under exactly that name (a typo would never run)."""
import pytest
from django.conf import settings

from microstage.celery import app


@pytest.mark.django_db
def test_every_beat_entry_names_a_registered_task():
    app.loader.import_default_modules()
    missing = {name: entry["task"] for name, entry in settings.CELERY_BEAT_SCHEDULE.items()
               if entry["task"] not in app.tasks}
    assert missing == {}
    assert {"analytics.flush_page_views", "microstage.heartbeat"} <= {e["task"] for e in
                                                                       settings.CELERY_BEAT_SCHEDULE.values()}
