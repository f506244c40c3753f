"""Celery tasks for live ingest: the HLS ladder transcode (thin: they call streaming.services.transcode)."""
from celery import shared_task

from .services import transcode


@shared_task(name="streaming.transcode_recording", ignore_result=True, acks_late=True)
def transcode_recording(recording_id: str, spec: dict) -> str:
    """Transcode a live publish, a rehearsal test pattern or a file into HLS plus the kept recording.

    Runs as long as the input does (a whole show for a live publish); idempotent: a finished
    recording is left alone, one whose earlier run died is marked failed.
    """
    return transcode.transcode_recording(recording_id, spec)
