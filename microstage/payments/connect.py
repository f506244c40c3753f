"""Stripe Connect calls: Express accounts, onboarding links, transfers to a creator and payouts to their bank.

Amounts go in as Decimal and out to Stripe in the currency's minor units. Every call that moves money takes an
idempotency key, so a retried task never moves it twice. Errors come back as ProviderError.
"""
import logging
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal

import stripe
from django.conf import settings
from django.utils.translation import gettext as _

from .money import to_minor
from .providers.base import ProviderError

log = logging.getLogger(__name__)
DEFAULT_API_BASE = "https://api.stripe.com"


@dataclass(frozen=True)
class AccountStatus:
    account: str
    charges_enabled: bool
    payouts_enabled: bool
    details_submitted: bool
    requirements: list[str] = field(default_factory=list)
    disabled_reason: str = ""


def _value(obj, key, default=None):
    if obj is None or isinstance(obj, str):
        return default
    try:
        value = obj.get(key) if isinstance(obj, dict) else obj[key]
    except (KeyError, TypeError):
        return default
    return default if value is None else value


def account_status(obj) -> AccountStatus:
    """An Account object (from the API or an `account.updated` webhook) as our status."""
    requirements = _value(obj, "requirements") or {}
    due = list(_value(requirements, "currently_due") or []) + list(_value(requirements, "past_due") or [])
    return AccountStatus(account=str(_value(obj, "id", "")), charges_enabled=bool(_value(obj, "charges_enabled")),
                         payouts_enabled=bool(_value(obj, "payouts_enabled")),
                         details_submitted=bool(_value(obj, "details_submitted")),
                         requirements=sorted(set(map(str, due)))[:50],
                         disabled_reason=str(_value(requirements, "disabled_reason", ""))[:120])


def _options(idempotency_key: str = "", account: str = "") -> dict:
    stripe.api_base = settings.STRIPE_API_HOST.rstrip("/") if settings.STRIPE_API_HOST else DEFAULT_API_BASE
    if not settings.STRIPE_SECRET_KEY:
        raise ProviderError(_("Card payments are not configured."), code="payments_not_configured", status=503)
    options = {"api_key": settings.STRIPE_SECRET_KEY, "stripe_version": settings.STRIPE_API_VERSION}
    if idempotency_key:
        options["idempotency_key"] = idempotency_key
    if account:
        options["stripe_account"] = account
    return options


def _call(func, *args, idempotency_key: str = "", on_account: str = "", **params):
    """`on_account`: act as that connected account (the Stripe-Account header)."""
    try:
        return func(*args, **params, **_options(idempotency_key, on_account))
    except stripe.StripeError as exc:
        log.warning("stripe connect call %s failed: %s", getattr(func, "__qualname__", func), exc)
        raise ProviderError(exc.user_message or _("Stripe could not complete the request.")) from exc


def create_express_account(*, email: str, idempotency_key: str) -> str:
    account = _call(stripe.Account.create, type="express", email=email or None,
                    capabilities={"card_payments": {"requested": True}, "transfers": {"requested": True}},
                    settings={"payouts": {"schedule": {"interval": "manual"}}},
                    idempotency_key=idempotency_key)
    return str(_value(account, "id", ""))


def retrieve_account(account: str) -> AccountStatus:
    return account_status(_call(stripe.Account.retrieve, account))


def onboarding_link(*, account: str, refresh_url: str, return_url: str) -> str:
    link = _call(stripe.AccountLink.create, account=account, refresh_url=refresh_url, return_url=return_url,
                 type="account_onboarding")
    return str(_value(link, "url", ""))


def transfer(*, amount: Decimal, currency: str, destination: str, idempotency_key: str, metadata: dict) -> str:
    """Move money the platform holds to a connected account's Stripe balance; the transfer's id."""
    result = _call(stripe.Transfer.create, amount=to_minor(amount, currency), currency=currency.lower(),
                   destination=destination, metadata=metadata, idempotency_key=idempotency_key)
    return str(_value(result, "id", ""))


def payout(*, amount: Decimal, currency: str, account: str, idempotency_key: str,
           metadata: dict) -> tuple[str, datetime | None]:
    """Pay a connected account's Stripe balance out to its bank: (payout id, expected arrival)."""
    result = _call(stripe.Payout.create, amount=to_minor(amount, currency), currency=currency.lower(),
                   metadata=metadata, idempotency_key=idempotency_key, on_account=account)
    arrival = _value(result, "arrival_date")
    return str(_value(result, "id", "")), (datetime.fromtimestamp(int(arrival), tz=UTC) if arrival else None)
