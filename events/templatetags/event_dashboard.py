"""Template helpers for dashboard pages outside the events app (the overview's next show)."""
from django import template

from events import selectors

register = template.Library()


@register.simple_tag
def next_event(creator):
    """The creator's soonest event that has not ended (draft or published), or None."""
    return selectors.next_event(creator) if creator else None
