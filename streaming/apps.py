"""App configuration for streaming."""
from django.apps import AppConfig


class StreamingConfig(AppConfig):
    name = "streaming"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self):
        # Celery autodiscovery imports tasks.py only; clip and upload tasks live in clip_tasks.py.
        from . import clip_tasks  # noqa: F401
        from . import replays

        replays.register()  # replays and clips sold alone
