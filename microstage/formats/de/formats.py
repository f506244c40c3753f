"""German date formats (see the English module); anything not set falls back to Django's German formats.

DATE_PATTERNS: templates that still write an English pattern (`|date:"j M Y"`) read it through this
table in German (the site's `date` filter, microstage/templatetags/l10n_dates.py): "5 Dec 2026" →
"5. Dez 2026", "Sat 5 Dec, 19:30" → "Sa, 5. Dez, 19:30". Named formats need no entry.
"""
DATE_FORMAT = "j. F Y"
TIME_FORMAT = "H:i"
DATETIME_FORMAT = "j. F Y, H:i"
SHORT_DATE_FORMAT = "d.m.Y"
SHORT_DATETIME_FORMAT = "d.m.Y, H:i"
MONTH_DAY_FORMAT = "j. F"
YEAR_MONTH_FORMAT = "F Y"

DATE_PATTERNS = {
    "j M": "j. M",
    "j M Y": "j. M Y",
    "j M H:i": "j. M, H:i",
    "j M, H:i": "j. M, H:i",
    "j M Y, H:i": "j. M Y, H:i",
    "j M Y H:i": "j. M Y, H:i",
    "j F Y": "j. F Y",
    "j F Y, H:i": "j. F Y, H:i",
    "j F, H:i": "j. F, H:i",
    "D j M": "D, j. M",
    "D j M, H:i": "D, j. M, H:i",
    "D j M · H:i": "D, j. M · H:i",
    "D j M Y, H:i": "D, j. M Y, H:i",
    "D j M Y · H:i": "D, j. M Y · H:i",
    "l j M": "l, j. M",
    "l j F Y": "l, j. F Y",
}
