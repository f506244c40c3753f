"""Every beat entry names a task the worker has registered under exactly that name."""
import pytest
from django.conf import settings

from microstage.celery import app as celery_app


@pytest.mark.django_db  # a worker runs the system checks (some read the database) on import
def test_every_beat_entry_names_a_registered_task():
    celery_app.loader.import_default_modules()  # what a worker does at start: autodiscovery + CELERY_IMPORTS
    registered = set(celery_app.tasks.keys())
    missing = sorted(entry["task"] for entry in settings.CELERY_BEAT_SCHEDULE.values()
                     if entry["task"] not in registered)
    assert missing == []
    assert "analytics.sample_viewers" in registered
