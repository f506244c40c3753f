"""The provider-neutral event every confirmation (webhook, sandbox click, API answer) is turned into."""
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal


class Kind:
    AUTHORIZED = "authorized"          # money held, not taken (manual capture)
    CAPTURED = "captured"              # money taken; `amount` is what was captured
    FAILED = "failed"
    CANCELLED = "cancelled"            # authorisation released or checkout abandoned
    REFUNDED = "refunded"              # `amount` is the cumulative refunded total, so replays change nothing
    CHECKOUT_COMPLETED = "checkout_completed"  # links a checkout session to what it created
    SUBSCRIPTION_PAID = "subscription_paid"    # one period's invoice was paid
    SUBSCRIPTION_FAILED = "subscription_failed"
    SUBSCRIPTION_ENDED = "subscription_ended"
    SUBSCRIPTION_UPDATED = "subscription_updated"  # the provider's subscription changed; `period_end` is its own
    SETUP_SUCCEEDED = "setup_succeeded"        # a payment method was saved for later
    DISPUTE_OPENED = "dispute_opened"          # the payer's bank disputes a payment; `dispute`, `amount`
    DISPUTE_CLOSED = "dispute_closed"          # ... and decided it; `outcome` is "won" | "lost"
    ACCOUNT_UPDATED = "account_updated"        # a connected account changed; `data` is the account object
    PAYOUT_PAID = "payout_paid"                # a payout to a connected account's bank landed; `provider_reference`
    PAYOUT_FAILED = "payout_failed"            # ... or failed (`failure_message`)
    IGNORED = "ignored"                # a provider event we record but do not act on


@dataclass(frozen=True)
class PaymentEvent:
    """What happened, in the gateway's words. `event_id` is unique per provider: handled once."""

    provider: str
    event_id: str
    kind: str
    payment_id: str = ""               # our pay_… id, when the provider echoes our metadata
    provider_reference: str = ""       # payment intent / authorisation id
    checkout_session: str = ""
    subscription: str = ""
    invoice: str = ""
    amount: Decimal | None = None
    currency: str = ""
    outcome: str = ""                  # CHECKOUT_COMPLETED: authorized | captured | ""; DISPUTE_CLOSED: won | lost
    dispute: str = ""                  # the provider's dispute id (DISPUTE_* kinds)
    failure_message: str = ""
    card_fingerprint: str = ""         # the provider's fingerprint of the card, when it tells us (risk checks)
    period_end: datetime | None = None  # SUBSCRIPTION_*: when the subscription's paid period ends, as the provider says
    metadata: dict = field(default_factory=dict)
    data: dict = field(default_factory=dict)  # the provider's object, for kinds that need more (ACCOUNT_UPDATED)
