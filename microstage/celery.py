"""The Celery application shared by every app's tasks."""
import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "microstage.settings")

app = Celery("microstage")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()
