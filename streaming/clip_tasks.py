"""Celery tasks for clips and uploaded recordings (thin: they call streaming.services.clips).

Registered from StreamingConfig.ready(), since Celery's autodiscovery only imports tasks.py.
"""
from celery import shared_task

from .services import clips


@shared_task(name="streaming.cut_clip", ignore_result=True)
def cut_clip(clip_id: str) -> None:
    """Cut a clip from its recording, make its thumbnail, store both (idempotent)."""
    clips.cut_clip(clip_id)


@shared_task(name="streaming.package_upload", ignore_result=True)
def package_upload(recording_id: str) -> None:
    """HLS renditions of an uploaded recording (idempotent)."""
    clips.package_upload(recording_id)
