"""Fixtures shared by the playback and clip tests: an event and a short recording in storage."""
# ruff: noqa: F811  - fixtures imported by name are requested as arguments
import pytest

from events.tests.factories import EventFactory

from .media_helpers import make_recording, media_root, source_hls, source_video  # noqa: F401


@pytest.fixture
def event():
    return EventFactory()


@pytest.fixture
def recording(event, media_root, source_video, source_hls):
    return make_recording(event, source_video, source_hls)
