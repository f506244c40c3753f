"""Celery tasks for analytics (thin: they call services)."""
from celery import shared_task


@shared_task(name="analytics.sample_viewers", ignore_result=True)
def sample_viewers() -> int:
    """Beat, every minute: one viewer-count sample per live stream (feeds average viewers)."""
    from . import services

    return services.sample_viewers()
