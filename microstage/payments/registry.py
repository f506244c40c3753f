"""Who to tell when money moves: handlers registered per payment `purpose` by the apps above."""
from collections.abc import Callable
from dataclasses import dataclass

Callback = Callable[..., None] | None


@dataclass(frozen=True)
class Handlers:
    """Callbacks for one purpose. Each receives the locked Payment (on_refunded also the new amount;
    on_dispute_opened / on_dispute_closed also the PaymentEvent, whose `dispute` id makes them idempotent).

    They run inside the gateway's transaction: an exception rolls the confirmation back so the provider
    (or the next click) retries it. Business outcomes (e.g. an expired order) must be handled, not raised.
    """

    on_paid: Callback = None
    on_authorized: Callback = None
    on_failed: Callback = None
    on_cancelled: Callback = None
    on_refunded: Callback = None
    on_subscription_ended: Callback = None
    # The provider's subscription changed (its period end moved): called with (payment, event).
    on_subscription_updated: Callback = None
    # A payment method was saved on the provider's page: called with (reference, payment_method, customer).
    on_setup_succeeded: Callback = None
    on_dispute_opened: Callback = None
    on_dispute_closed: Callback = None


_handlers: dict[str, Handlers] = {}


def register_handler(purpose: str, **callbacks: Callback) -> None:
    """Register (or replace) the callbacks for `purpose`, e.g. "commerce.order". Call from AppConfig.ready()."""
    if not purpose or len(purpose) > 64:
        raise ValueError("a purpose is a short non-empty string")
    _handlers[purpose] = Handlers(**callbacks)


def unregister_handler(purpose: str) -> None:
    _handlers.pop(purpose, None)


def handlers_for(purpose: str) -> Handlers:
    return _handlers.get(purpose, Handlers())


# Stripe Connect news that concerns no payment: a connected account changed, a payout to a bank ended.
# Commerce registers: on_account_updated(data: dict), on_payout(reference: str, status: "paid"|"failed", reason).
_connect: dict[str, Callback] = {}


def register_connect_handler(*, on_account_updated: Callback = None, on_payout: Callback = None) -> None:
    _connect.update(on_account_updated=on_account_updated, on_payout=on_payout)


def connect_handler(name: str) -> Callback:
    return _connect.get(name)
