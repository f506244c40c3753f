"""Writes for streaming, one module per sub-domain: ingest, transcode, chat, presence, clips and
preflight. Reads live in streaming/selectors.py; Celery tasks (tasks.py, clip_tasks.py, preflight_tasks.py) stay
thin and call in here, while these modules queue work by registered task name (streaming/jobs.py).
"""
