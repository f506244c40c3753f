"""Path converters for what our URLs carry: a segment that cannot be one never reaches a view or a query.

`id` matches the platform's opaque ids ("evt_9f3k…", see microstage/ids.py; referral codes and
sandbox checkout sessions have the same shape); `token` matches signed tokens and file names
(letters, digits and `_ - : . =`). Anything else — a NUL byte, a slash, a quote — is a 404 from
the resolver. Registered on import; microstage.apps imports this module before any URLconf loads.
"""
from django.urls import register_converter

ID_REGEX = r"[A-Za-z]{1,8}_[A-Za-z0-9]{1,40}"
TOKEN_REGEX = r"[A-Za-z0-9_:.=-]{1,512}"


class IdConverter:
    regex = ID_REGEX

    def to_python(self, value: str) -> str:
        return value

    def to_url(self, value) -> str:
        return str(value)


class TokenConverter(IdConverter):
    regex = TOKEN_REGEX


register_converter(IdConverter, "id")
register_converter(TokenConverter, "token")
