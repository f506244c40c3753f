"""One JSON reader for every body and frame from outside: bounded nesting, strings UTF-8 can carry.

Python's json module recurses once per level, so a 2 KB body nested 1,000 deep raises RecursionError
(a 500), and it accepts lone surrogates ("\\ud800") that no response can encode again later. Every
JSON input (the API's parser, plain JSON views, the websocket) reads through `loads`, which refuses
both with `Refused`, a ValueError whose message is fit to show.
"""
import json

from django.utils.translation import gettext as _

MAX_DEPTH = 32  # far beyond any body or frame of ours (they are at most 4 levels deep)


class Refused(ValueError):
    """Valid JSON we still do not take: nested too deep, or a string that is not real text."""


def loads(data: str | bytes, *, max_depth: int = MAX_DEPTH, allow_nul: bool = False, **kwargs):
    """json.loads, plus the depth and text checks; syntax errors stay plain ValueErrors.

    NUL characters are refused unless `allow_nul` (PostgreSQL cannot store them in text or jsonb)."""
    if isinstance(data, bytes | bytearray):
        data = data.decode("utf-8")  # UnicodeDecodeError is a ValueError too
    try:
        value = json.loads(data, **kwargs)
    except RecursionError:
        raise Refused(_("The JSON is nested too deeply (at most %(depth)s levels).") % {"depth": max_depth}) from None
    check(value, max_depth=max_depth, allow_nul=allow_nul)
    return value


def check(value, *, max_depth: int = MAX_DEPTH, allow_nul: bool = False) -> None:
    """Raise Refused when `value` nests deeper than `max_depth` or holds a string that is not text."""
    stack = [(value, 0)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, str):
            _check_text(item, allow_nul)
        elif isinstance(item, dict | list):
            if depth >= max_depth:
                raise Refused(_("The JSON is nested too deeply (at most %(depth)s levels).") % {"depth": max_depth})
            if isinstance(item, dict):
                for key in item:
                    _check_text(key, allow_nul)
                stack.extend((v, depth + 1) for v in item.values())
            else:
                stack.extend((v, depth + 1) for v in item)


def _check_text(text: str, allow_nul: bool) -> None:
    if not allow_nul and "\x00" in text:
        raise Refused(_("Text may not contain NUL characters."))
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        raise Refused(_("Text must be valid Unicode (no lone surrogates).")) from None
