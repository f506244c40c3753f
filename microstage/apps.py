"""App configuration for the platform package."""
from django.apps import AppConfig


class MicrostageConfig(AppConfig):
    name = "microstage"
    verbose_name = "Platform"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self):
        from . import signals  # noqa: F401  (connects allauth signal receivers)
