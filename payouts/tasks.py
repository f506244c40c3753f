"""Celery tasks for payouts (thin: they call services). Registered names keep the "commerce." prefix
they had before the app left commerce, so queued tasks and the beat schedule still find them."""
from celery import shared_task


@shared_task(name="commerce.run_due_payouts", ignore_result=True)
def run_due_payouts() -> int:
    """Pay creators on their schedule (weekly, or after each show once it has settled); idempotent per period."""
    from . import services

    return services.run_due_payouts()
