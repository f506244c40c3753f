"""The `date` filter of every template (a builtin, see settings.TEMPLATES), in the active language's way.

Templates keep writing `{{ when|date:"j M Y" }}`; in English that is what they get, in another
language the pattern is first read through that language's DATE_PATTERNS (its Django format module
under microstage/formats/), so German shows "5. Dez 2026". Named formats ("DATE_FORMAT", …) and
patterns a language does not list are Django's own. The time zone is the value's: an event's
`local_*` times stay in the event's zone (events.models.LocalDateTime).
"""
from functools import lru_cache

from django import template
from django.template import defaultfilters
from django.utils import formats
from django.utils.translation import get_language

register = template.Library()


@lru_cache(maxsize=16)
def patterns(language: str) -> dict:
    for module in formats.get_format_modules(language):
        found = getattr(module, "DATE_PATTERNS", None)
        if found:
            return found
    return {}


@register.filter(expects_localtime=True, is_safe=False)
def date(value, arg=None):
    if arg:
        arg = patterns(get_language() or "").get(arg, arg)
    return defaultfilters.date(value, arg)
