"""Celery tasks for commerce (thin: they call services)."""
from celery import shared_task


@shared_task(name="commerce.expire_due_orders", ignore_result=True)
def expire_due_orders() -> int:
    """Housekeeping: mark lapsed reservations expired. Stock is already free by the clock."""
    from commerce import services

    return services.expire_due_orders()


@shared_task(name="commerce.send_order_email", ignore_result=True)
def send_order_email(order_id: str, what: str, token: str = "") -> None:
    """An order's email (paid, held or refunded), queued once its transaction committed
    (commerce.services.EMAIL_TASK); a second delivery of the same token sends nothing."""
    from commerce import services

    services.send_order_email(order_id, what, token)
