"""App configuration for events."""
from django.apps import AppConfig


class EventsConfig(AppConfig):
    name = "events"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self):
        from .services import register_sellables

        register_sellables()
