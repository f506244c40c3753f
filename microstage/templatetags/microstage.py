"""Template helpers: Markdown, money and the event-local time."""
from django import template

from microstage.money import format_money
from microstage.text import render_markdown

register = template.Library()

@register.filter
def markdown(text):
    return render_markdown(text)


@register.simple_tag
def money(amount, currency):
    """12.5, "EUR" → "€12.50" in English, "12,50 €" in German; zero reads as "Free"."""
    return format_money(amount, currency, free=True)


@register.simple_tag
def amount(value, currency):
    """An account amount: 0 → "€0.00", -0.5 → "−€0.50" (balances and statements, where zero is not "Free")."""
    return format_money(value, currency)
