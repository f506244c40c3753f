"""Background work queued by its registered Celery task name.

Services queue work through here instead of importing the task modules, so the tasks (thin: they call
the services) and the services never import each other. Each name is a task registered by
streaming/tasks.py or streaming/clip_tasks.py; a test checks that every name here is registered.
"""
from celery import current_app

TRANSCODE_RECORDING = "streaming.transcode_recording"
CUT_CLIP = "streaming.cut_clip"
PACKAGE_UPLOAD = "streaming.package_upload"
TASK_NAMES = (TRANSCODE_RECORDING, CUT_CLIP, PACKAGE_UPLOAD)


def enqueue(name: str, *args) -> None:
    """Send the task `name` with positional `args` to the workers."""
    current_app.send_task(name, args=list(args))
