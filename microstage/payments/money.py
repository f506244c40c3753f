"""Decimal amounts <-> provider minor units, per ISO 4217 currency (never floats)."""
from decimal import Decimal

from django.utils.translation import gettext as _

from microstage.errors import Invalid

# Currencies Stripe charges in whole units (no minor unit).
ZERO_DECIMAL = frozenset({
    "BIF", "CLP", "DJF", "GNF", "JPY", "KMF", "KRW", "MGA", "PYG", "RWF", "UGX", "VND", "VUV", "XAF", "XOF", "XPF",
})
# Three-decimal currencies; Stripe wants their last digit to be zero, which 2-decimal amounts always satisfy.
THREE_DECIMAL = frozenset({"BHD", "JOD", "KWD", "OMR", "TND"})


def normalise_currency(currency: str) -> str:
    from microstage.currencies import codes

    code = (currency or "").strip().upper() if isinstance(currency, str | None) else ""
    if code not in codes():
        raise Invalid(_("Currency must be an ISO 4217 code."), fields={"currency": [_("Unknown currency.")]})
    return code


def exponent(currency: str) -> int:
    code = normalise_currency(currency)
    if code in ZERO_DECIMAL:
        return 0
    if code in THREE_DECIMAL:
        return 3
    return 2


def to_minor(amount: Decimal, currency: str) -> int:
    """12.50 EUR -> 1250; 1500 JPY -> 1500. Refuses amounts the currency cannot express (12.345 EUR)."""
    if not isinstance(amount, Decimal):
        raise TypeError("amounts are Decimal, never float")
    scaled = amount.scaleb(exponent(currency))
    if scaled != scaled.to_integral_value():
        raise Invalid(_("%(amount)s cannot be charged in %(currency)s.") % {"amount": amount,
                                                                           "currency": normalise_currency(currency)},
                      fields={"amount": [_("Too many decimal places for this currency.")]})
    return int(scaled)


def from_minor(minor: int, currency: str) -> Decimal:
    """1250 EUR -> Decimal("12.50"); stored amounts keep two places whatever the currency."""
    return Decimal(int(minor)).scaleb(-exponent(currency)).quantize(Decimal("0.01"))


def validate_amount(amount) -> Decimal:
    if isinstance(amount, float) or not isinstance(amount, Decimal | int | str):
        raise TypeError("amounts are Decimal, never float")
    value = Decimal(amount)
    if value <= 0:
        raise Invalid(_("The amount must be more than zero."), fields={"amount": [_("Must be more than zero.")]})
    if value != value.quantize(Decimal("0.01")):
        raise Invalid(
            _("The amount has too many decimal places."), fields={"amount": [_("At most two decimal places.")]}
        )
    return value.quantize(Decimal("0.01"))
