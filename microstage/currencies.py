"""Currencies: ISO 4217 codes only (from pycountry), and one currency per creator unless it enables more.

A creator sells in one currency — the first one it prices something in, kept on `Creator.currency`
— so an event or shop never mixes them (orders are one currency each). Staff can set it, or turn
on `Creator.multi_currency`, in the admin.
"""
import functools

from django.db import transaction
from django.utils.translation import gettext as _

from .errors import Invalid

# Precious metals, bond units, SDRs and the testing / "no currency" codes are not money we sell in.
_NOT_FOR_SALE = {"XAG", "XAU", "XBA", "XBB", "XBC", "XBD", "XDR", "XPD", "XPT", "XSU", "XTS", "XUA", "XXX"}


@functools.cache
def codes() -> frozenset[str]:
    import pycountry

    return frozenset(c.alpha_3 for c in pycountry.currencies) - _NOT_FOR_SALE


def check_code(code, field: str = "currency") -> str:
    """The upper-cased ISO 4217 code, or Invalid."""
    value = code.strip().upper() if isinstance(code, str) else ""
    if value not in codes():
        raise Invalid(
            _("Use an ISO 4217 currency code like EUR."), fields={field: [_("Use an ISO 4217 code like EUR.")]}
        )
    return value


def check_for_creator(creator_id: str, code, field: str = "currency") -> str:
    """Check `code` and that the creator sells in it; the first currency a creator uses becomes its own."""
    from .models import Creator

    value = check_code(code, field)
    with transaction.atomic():
        creator = Creator.objects.select_for_update().only("pk", "currency", "multi_currency").get(pk=creator_id)
        if creator.multi_currency:
            return value
        if not creator.currency:
            creator.currency = value
            creator.save(update_fields=["currency"])
        elif creator.currency != value:
            raise Invalid(
                _("This creator sells in %(currency)s.") % {"currency": creator.currency},
                fields={
                    field: [
                        _("Use %(currency)s: one currency per creator (staff can enable more).")
                        % {"currency": creator.currency}
                    ]
                },
            )
    return value
