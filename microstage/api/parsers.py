"""The API's JSON parser: DRF's, reading through microstage.safejson (depth and text checks)."""
import codecs

from django.conf import settings
from django.utils.translation import gettext as _
from rest_framework import parsers
from rest_framework.exceptions import ParseError

from microstage import safejson
from microstage.errors import Invalid, ServiceError


class JSONParser(parsers.JSONParser):
    def parse(self, stream, media_type=None, parser_context=None):
        parser_context = parser_context or {}
        encoding = parser_context.get("encoding", settings.DEFAULT_CHARSET)
        # DRF reads the stream itself, past Django's DATA_UPLOAD_MAX_MEMORY_SIZE check: apply it here.
        limit = settings.DATA_UPLOAD_MAX_MEMORY_SIZE
        raw = stream.read() if limit is None else stream.read(limit + 1)
        if limit is not None and len(raw) > limit:
            raise ServiceError(_("The request is too large (at most %(size)s MiB).") % {"size": limit // (1024 * 1024)},
                               code="too_large")
        try:
            text = codecs.decode(raw, encoding)
            return safejson.loads(text, parse_constant=_refuse_constant)
        except safejson.Refused as exc:
            raise Invalid(str(exc)) from None
        except ValueError as exc:
            raise ParseError(_("JSON parse error - %(exc)s") % {"exc": exc}) from None


def _refuse_constant(name: str):
    raise ValueError(f"{name} is not a JSON number")
