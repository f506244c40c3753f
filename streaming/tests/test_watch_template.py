"""The watch page's template says what it shows: drops, tips and group-buys are built, not promised."""
from pathlib import Path

from django.conf import settings


def test_watch_template_promises_nothing_it_already_has():
    text = Path(settings.BASE_DIR, "templates", "streaming", "watch.html").read_text(encoding="utf-8")
    assert "later issue" not in text and "LIVE-COMMERCE-SLOT" not in text
    assert 'data-slot="drops group-buys tips"' not in text  # the empty placeholder is gone
    for built in ('id="drops"', 'id="tip"', "group_buy_progress"):
        assert built in text
