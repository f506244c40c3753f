"""Microstage platform package: settings, users and creators, payments gateway, realtime."""
from .celery import app as celery_app

__all__ = ("celery_app",)
