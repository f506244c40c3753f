"""Template helpers: Markdown, money and the event-local time."""
from decimal import Decimal

from django import template

from microstage.text import render_markdown

register = template.Library()

_SYMBOLS = {"EUR": "€", "USD": "$", "GBP": "£", "JPY": "¥", "CHF": "CHF "}


@register.filter
def markdown(text):
    return render_markdown(text)


@register.simple_tag
def money(amount, currency):
    """12.5, "EUR" → "€12.50"; zero reads as "Free"."""
    value = Decimal(amount or 0)
    if value == 0:
        return "Free"
    symbol = _SYMBOLS.get(currency)
    return f"{symbol}{value:,.2f}" if symbol else f"{value:,.2f} {currency}"


@register.simple_tag
def amount(value, currency):
    """An account amount: 0 → "€0.00", -0.5 → "−€0.50" (balances and statements, where zero is not "Free")."""
    value = Decimal(value or 0)
    symbol = _SYMBOLS.get(currency)
    sign = "−" if value < 0 else ""
    return f"{sign}{symbol}{abs(value):,.2f}" if symbol else f"{sign}{abs(value):,.2f} {currency}"
