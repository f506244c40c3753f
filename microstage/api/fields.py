"""Fields shared by every API serializer."""
import datetime

from django.utils.dateparse import parse_datetime
from django.utils.translation import gettext_lazy as _
from rest_framework import serializers


class AwareDateTimeField(serializers.DateTimeField):
    """An ISO 8601 datetime that must carry its UTC offset (API.md: "Datetimes ISO 8601 with offset").

    DRF would read "2030-05-01T20:00:00" in the server's zone; for a show in another city that is
    hours off, so a time without an offset is refused with a clear message instead."""

    default_error_messages = {
        "naive": _("Give the time with its UTC offset, e.g. 2030-05-01T20:00:00+02:00 or 2030-05-01T18:00:00Z."),
    }

    def to_internal_value(self, value):
        if isinstance(value, str):
            try:
                parsed = parse_datetime(value.strip())
            except ValueError:
                parsed = None
            if parsed is not None and parsed.tzinfo is None:
                self.fail("naive")
        elif isinstance(value, datetime.datetime) and value.tzinfo is None:
            self.fail("naive")
        return super().to_internal_value(value)
