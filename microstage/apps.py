"""App configuration for the platform package."""
from django.apps import AppConfig


class MicrostageConfig(AppConfig):
    name = "microstage"
    verbose_name = "Platform"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self):
        from django.db.models.signals import post_migrate

        from . import converters, signals  # noqa: F401 - URL converters; allauth signal receivers

        post_migrate.connect(signals.name_the_site, sender=self)
