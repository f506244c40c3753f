"""Money in and out: the one parser for amounts that come from outside (forms, the API, imports), and
`format_money` for people to read.

    parse_amount("12.50")                          -> Decimal("12.50")
    parse_amount("12,50")                          -> Decimal("12.50")   (a decimal comma, as typed in German)
    parse_amount(12.5)                             -> Invalid: money is never a float (API.md: decimal strings)
    parse_amount("0", minimum=Decimal("0.01"))     -> Invalid: "Use an amount from 0.01 to 100000."
    parse_amount("1.999")                          -> Invalid: at most two decimal places
    parse_amount("1500", currency="JPY")           -> Decimal("1500.00"); "12.5" in JPY -> Invalid (no minor unit)

Rules, in one place: decimal only: a float is refused (the API's contract is decimal strings like
"12.50"; whole numbers are exact and accepted); booleans, lists, NaN and infinities are refused; no
thousands separators; the number of decimals is the currency's (ISO 4217 exponent, at most two,
two when no currency is given); bounds are inclusive and named in the error. Every error is an
`Invalid` with a field error, so the API answers 400 `invalid` and a form shows it next to the field.
Stored amounts keep two places.
"""
import re
from decimal import Decimal, InvalidOperation

from babel.numbers import UnknownCurrencyError, format_currency
from django.utils import translation

from django.utils.translation import gettext as _

from microstage.errors import Invalid

MAX_AMOUNT = Decimal("100000")
CENT = Decimal("0.01")
_DECIMAL_COMMA = re.compile(r"^[+-]?\d+,\d+$")


def _decimal(value) -> Decimal | None:
    if isinstance(value, bool) or value is None:
        return None
    if isinstance(value, Decimal):
        return value
    if isinstance(value, int):
        return Decimal(value)
    if not isinstance(value, str):  # floats included: 0.1 + 0.2 is not 0.30
        return None
    text = value.strip()
    if _DECIMAL_COMMA.match(text):
        text = text.replace(",", ".")
    try:
        return Decimal(text)
    except InvalidOperation:
        return None


def _places(currency: str | None) -> int:
    if not currency:
        return 2
    from microstage.payments.money import exponent

    return min(exponent(currency), 2)  # stored amounts keep two places


def parse_amount(value, *, field: str = "amount", minimum: Decimal = Decimal("0"), maximum: Decimal = MAX_AMOUNT,
                 currency: str | None = None) -> Decimal:
    """`value` as a Decimal with two places, or Invalid naming `field`."""
    amount = _decimal(value)
    if amount is None or not amount.is_finite():
        raise Invalid(_("Enter an amount like 12.50."), fields={field: [_("Enter an amount like 12.50.")]})
    places = _places(currency)
    try:
        exact = amount == amount.quantize(Decimal(1).scaleb(-places))
    except InvalidOperation:  # more digits than any amount has (1e400000)
        exact = False
        places = None
    if places is None or not minimum <= amount <= maximum:
        message = _("Use an amount from %(minimum)s to %(maximum)s.") % {"minimum": minimum, "maximum": maximum}
        raise Invalid(message, fields={field: [message]})
    if not exact:
        message = (_("This currency has no decimal places.") if places == 0
                   else _("Use at most %(places)d decimal places.") % {"places": places})
        raise Invalid(message, fields={field: [message]})
    return amount.quantize(CENT)


def parse_optional_amount(value, **kwargs) -> Decimal | None:
    """parse_amount, with None or an empty text meaning "no amount"."""
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    return parse_amount(value, **kwargs)


# --- for people to read -----------------------------------------------------------------------------
# In the active language's way: "€12.50" in English, "12,50 €" in German. Display only: the API's JSON
# keeps its plain decimal strings (API.md).
_CODE_THEN_DIGIT = re.compile(r"^([A-Z]{2,3})(\d)")


def _locale() -> str:
    return translation.to_locale(translation.get_language() or "en")


def format_money(value, currency, *, free: bool = False, locale: str | None = None) -> str:
    """`value` in `currency` for the active language (or `locale`); with `free`, zero reads "Free".
    A negative amount gets a real minus sign: "−€0.50"."""
    try:
        number = Decimal(value or 0)
    except (InvalidOperation, TypeError, ValueError):
        number = Decimal(0)
    if free and number == 0:
        return _("Free")
    code = (currency or "").upper()
    where = locale or _locale()
    try:
        text = format_currency(abs(number), code, locale=where)
    except (UnknownCurrencyError, ValueError):
        text = f"{abs(number):,.2f} {code}".strip()
    text = _CODE_THEN_DIGIT.sub("\\1\u00a0\\2", text)  # "CHF3.00" → "CHF 3.00"
    return f"−{text}" if number < 0 else text
