"""Celery tasks for memberships (thin: they call services)."""
from celery import shared_task


@shared_task(name="memberships.renew_sandbox_memberships", ignore_result=True)
def renew_sandbox_memberships() -> dict:
    """The sandbox's billing clock: renew or end sandbox memberships whose period is over (idempotent)."""
    from . import services

    return services.renew_due_sandbox_memberships()
