"""Celery tasks for commerce (thin: they call services)."""
from celery import shared_task


@shared_task(name="commerce.expire_due_orders", ignore_result=True)
def expire_due_orders() -> int:
    """Housekeeping: mark lapsed reservations expired. Stock is already free by the clock."""
    from commerce import services

    return services.expire_due_orders()
