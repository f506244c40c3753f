"""Celery tasks for analytics (thin: they call services)."""
from celery import shared_task


@shared_task(name="analytics.flush_page_views", ignore_result=True)
def flush_page_views() -> int:
    """Write the page views buffered in Redis to the database, in one batch (beat, every few seconds)."""
    from . import services

    return services.flush_page_views()


@shared_task(name="analytics.sample_viewers", ignore_result=True)
def sample_viewers() -> int:
    from . import services

    return services.sample_viewers()
