"""Stripe Connect onboarding of a creator (Express accounts through account links) and its status.

The account id stays on Creator.stripe_account (checkout's destination charges read it); what Stripe enables
and still needs is kept on the creator's PayoutProfile, refreshed on the return page and by `account.updated`
webhooks. The sandbox has the same states without Stripe: "connecting" there enables everything at once.
While Connect is on, nobody can pay a creator whose account cannot take charges yet (`require_charges`).
"""
from django.conf import settings
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from microstage.errors import Conflict
from microstage.models import EDIT_ROLES, Creator, Role
from microstage.permissions import require_role
from microstage.payments import connect as stripe_connect

from .models import PayoutProfile
from .services import profile

OWNER_ONLY = frozenset({Role.OWNER})  # the payout account is the owner's

NOT_READY = gettext_lazy("This creator cannot take payments yet: their payout account is not set up. "
                         "Nothing was charged; please try again later.")


def connect_on() -> bool:
    return bool(settings.STRIPE_CONNECT) and settings.PAYMENTS_PROVIDER in ("stripe", "sandbox")


def _apply(found: PayoutProfile, status: stripe_connect.AccountStatus) -> PayoutProfile:
    found.charges_enabled, found.payouts_enabled = status.charges_enabled, status.payouts_enabled
    found.details_submitted, found.requirements = status.details_submitted, status.requirements
    found.disabled_reason, found.account_updated_at = status.disabled_reason, timezone.now()
    found.save(update_fields=["charges_enabled", "payouts_enabled", "details_submitted", "requirements",
                              "disabled_reason", "account_updated_at"])
    return found


def start_onboarding(creator: Creator, *, actor, email: str, refresh_url: str, return_url: str) -> str:
    """Where to send the owner: Stripe's onboarding page (creating their Express account first if needed);
    in the sandbox the account is connected at once and the owner goes straight back. The owner only."""
    require_role(actor, creator, OWNER_ONLY, forbidden=_("Only the owner connects the payout account."))
    if settings.PAYMENTS_PROVIDER == "sandbox":
        with transaction.atomic():
            found = PayoutProfile.objects.select_for_update().get(pk=profile(creator.pk).pk)
            found.sandbox_connected = True
            found.save(update_fields=["sandbox_connected"])
            _apply(found, stripe_connect.AccountStatus("sandbox", True, True, True))
        return return_url
    account = Creator.objects.filter(pk=creator.pk).values_list("stripe_account", flat=True).get()
    if not account:
        account = stripe_connect.create_express_account(email=email, idempotency_key=f"connect-account:{creator.pk}")
        with transaction.atomic():
            row = Creator.objects.select_for_update().get(pk=creator.pk)
            if row.stripe_account:  # another click won the race: keep the first account
                account = row.stripe_account
            else:
                row.stripe_account = account
                row.save(update_fields=["stripe_account"])
    return stripe_connect.onboarding_link(account=account, refresh_url=refresh_url, return_url=return_url)


def refresh(creator: Creator, *, actor) -> PayoutProfile:
    """Ask Stripe where the account stands (the return page); the sandbox's state is already current."""
    require_role(actor, creator, EDIT_ROLES)
    found = profile(creator.pk)
    account = Creator.objects.filter(pk=creator.pk).values_list("stripe_account", flat=True).get()
    if settings.PAYMENTS_PROVIDER != "stripe" or not account:
        return found
    return _apply(found, stripe_connect.retrieve_account(account))


def on_account_updated(data: dict) -> None:
    """`account.updated` webhook (inside the gateway's once-only transaction)."""
    status = stripe_connect.account_status(data)
    creator_id = Creator.objects.filter(stripe_account=status.account).values_list("pk", flat=True).first()
    if not status.account or creator_id is None:
        return
    with transaction.atomic():
        found = PayoutProfile.objects.select_for_update().get(pk=profile(creator_id).pk)
        _apply(found, status)


def status_of(creator: Creator) -> dict:
    """For the dashboard: connected or not, what works, what Stripe still needs (in words)."""
    found = profile(creator.pk)
    connected = bool(creator.stripe_account) or found.sandbox_connected
    return {"connected": connected, "sandbox": settings.PAYMENTS_PROVIDER == "sandbox",
            "account": creator.stripe_account or ("sandbox" if found.sandbox_connected else ""),
            "charges_enabled": found.charges_enabled, "payouts_enabled": found.payouts_enabled,
            "details_submitted": found.details_submitted,
            "requirements": [r.replace("_", " ").replace(".", ": ") for r in found.requirements],
            "disabled_reason": found.disabled_reason.replace("_", " ").replace(".", ": "),
            "updated_at": found.account_updated_at, "connect_on": connect_on()}


def require_charges(creator_id: str) -> None:
    """With Connect on, refuse to take money for a creator whose account cannot accept charges (409)."""
    if not connect_on():
        return
    if not PayoutProfile.objects.filter(creator_id=creator_id, charges_enabled=True).exists():
        raise Conflict(str(NOT_READY), code="payouts_not_set_up")
