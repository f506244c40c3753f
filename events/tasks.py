"""Celery tasks for events (thin: they call services and renderers)."""
from celery import shared_task


@shared_task(name="events.render_preview_image", ignore_result=True)
def render_preview_image(event_id: str) -> None:
    """Draw the 1200×630 social preview of an event (at publish and on change)."""
    from .previews import render_and_store

    render_and_store(event_id)


@shared_task(name="events.send_due_notifications", ignore_result=True)
def send_due_notifications() -> int:
    """Every minute (beat): "notify me" requests whose drop opened or tier went on sale, and doors open."""
    from .notices import doors_open_due, send_due

    return send_due() + doors_open_due()


@shared_task(name="events.notify_stream_live", ignore_result=True)
def notify_stream_live(event_id: str) -> int:
    """The stream went live: tell every ticket holder once."""
    from .notices import notify_stream_live as run

    return run(event_id)
@shared_task(name="events.promote_waiting_lists", ignore_result=True)
def promote_waiting_lists() -> int:
    """Every tier with a waiting list: expire offers not taken, offer tickets that came back.

    Holds expire by the clock alone, so this is how "a hold expired" reaches the line."""
    from .waitlist import promote_due

    return promote_due()
