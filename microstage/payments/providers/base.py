"""The provider interface: what a payment provider must do, in the gateway's neutral vocabulary."""
from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal

from microstage.errors import ServiceError

from ..events import PaymentEvent


class ProviderError(ServiceError):
    """The provider refused or could not be reached; `detail` is safe to show."""

    code = "payment_provider_error"
    status = 502


class CardDeclined(ProviderError):
    code = "card_declined"
    status = 402


class BadSignature(ServiceError):
    code = "bad_signature"
    status = 400


@dataclass(frozen=True)
class Checkout:
    provider: str
    checkout_url: str
    session_id: str


@dataclass(frozen=True)
class ProviderResult:
    """The state of a provider object after an operation.

    `status` uses Payment.Status words (pending/authorized/captured/failed/cancelled); `amount` is what that
    status covers (authorised or captured amount) when the provider says so.
    """

    reference: str
    status: str
    amount: Decimal | None = None
    client_secret: str = ""
    failure_message: str = ""
    raw: dict = field(default_factory=dict)


@dataclass(frozen=True)
class RefundResult:
    reference: str
    amount: Decimal


@dataclass(frozen=True)
class SetupResult:
    reference: str
    status: str                  # "succeeded" | "requires_action" | "requires_payment_method" | …
    customer: str
    payment_method: str = ""
    client_secret: str = ""


@dataclass(frozen=True)
class SubscriptionResult:
    reference: str
    status: str                  # provider's words: "active", "incomplete", "canceled", …
    invoice: str = ""            # the first period's invoice
    invoice_paid: bool = False
    payment_reference: str = ""  # the payment intent that paid the invoice, when known
    period_end: datetime | None = None  # the end of the current paid period, as the provider says


class PaymentProvider(ABC):
    """One payment provider. Amounts are Decimal with an ISO currency; metadata values are strings.

    `metadata` always carries `payment_id`, `purpose` and `reference` so confirmations can be matched
    back to a Payment whichever way they arrive.
    """

    name: str = ""

    @abstractmethod
    def create_checkout(self, *, amount: Decimal, currency: str, description: str, metadata: dict[str, str],
                        success_url: str, cancel_url: str, capture_method: str = "automatic",
                        customer_email: str = "", idempotency_key: str = "", transfer_destination: str = "",
                        application_fee: Decimal | None = None) -> Checkout:
        """A hosted page where the payer pays (or authorises, with manual capture); with `transfer_destination`
        a destination charge to that connected account, the platform keeping `application_fee`."""

    @abstractmethod
    def authorize(self, *, amount: Decimal, currency: str, description: str, metadata: dict[str, str],
                  payment_method: str = "", customer: str = "", idempotency_key: str = "") -> ProviderResult:
        """Hold `amount` without taking it. Without a payment method the result is pending (client confirms)."""

    @abstractmethod
    def capture(self, reference: str, *, amount: Decimal, currency: str, idempotency_key: str = "") -> ProviderResult:
        """Take `amount` (≤ authorised) of an authorisation; the rest is released."""

    @abstractmethod
    def cancel(self, reference: str, *, idempotency_key: str = "") -> ProviderResult:
        """Release an authorisation (or abandon an unpaid payment)."""

    @abstractmethod
    def refund(self, reference: str, *, amount: Decimal, currency: str, metadata: dict[str, str],
               idempotency_key: str = "") -> RefundResult:
        """Give back `amount` of a captured payment."""

    @abstractmethod
    def create_customer(self, *, email: str, name: str = "", metadata: dict[str, str] | None = None) -> str:
        """A provider customer to save payment methods and subscriptions on; returns its id."""

    @abstractmethod
    def save_payment_method(self, *, customer: str, payment_method: str = "", metadata: dict[str, str] | None = None,
                            idempotency_key: str = "") -> SetupResult:
        """Save a payment method for later off-session charges (a SetupIntent)."""

    def create_setup_checkout(self, *, customer: str, metadata: dict[str, str], success_url: str, cancel_url: str,
                              idempotency_key: str = "") -> "Checkout":
        """A hosted page where the payer saves a card for later; providers without one confirm at once."""
        raise NotImplementedError

    @abstractmethod
    def charge_off_session(self, *, customer: str, payment_method: str, amount: Decimal, currency: str,
                           description: str, metadata: dict[str, str], idempotency_key: str = "") -> ProviderResult:
        """Charge a saved payment method while the payer is away."""

    @abstractmethod
    def create_subscription(self, *, customer: str, amount: Decimal, currency: str, interval: str, description: str,
                            metadata: dict[str, str], payment_method: str = "",
                            idempotency_key: str = "") -> SubscriptionResult:
        """Charge `amount` every `interval` ("month" | "year")."""

    @abstractmethod
    def create_subscription_checkout(self, *, amount: Decimal, currency: str, interval: str, description: str,
                                     metadata: dict[str, str], subscription_metadata: dict[str, str],
                                     success_url: str, cancel_url: str, customer_email: str = "",
                                     idempotency_key: str = "") -> Checkout:
        """A hosted page where the payer starts paying `amount` every `interval`; `subscription_metadata` is
        echoed on the subscription's invoices."""

    @abstractmethod
    def cancel_subscription(self, reference: str) -> SubscriptionResult:
        """Stop a subscription now."""

    def subscription_period_end(self, reference: str) -> datetime | None:
        """When the subscription's current paid period ends, read from the provider (None: it cannot say)."""
        return None

    @abstractmethod
    def set_cancel_at_period_end(self, reference: str, cancel: bool) -> SubscriptionResult:
        """End the subscription when its paid period ends (True), or keep it renewing (False)."""

    @abstractmethod
    def parse_webhook(self, body: bytes, headers) -> list[PaymentEvent]:
        """Verify an incoming webhook and turn it into neutral events; raises BadSignature when unverifiable."""
