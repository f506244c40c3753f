"""English date formats in Microstage's house style (day before month, 24-hour clock).

Templates use the named formats (`|date:"SHORT_DATETIME_FORMAT"`), so each language gets its own order.
Anything not set here falls back to Django's own English formats.
"""
DATE_FORMAT = "j F Y"
TIME_FORMAT = "H:i"
DATETIME_FORMAT = "j F Y, H:i"
SHORT_DATE_FORMAT = "j M Y"
SHORT_DATETIME_FORMAT = "j M Y, H:i"
MONTH_DAY_FORMAT = "j F"
YEAR_MONTH_FORMAT = "F Y"
