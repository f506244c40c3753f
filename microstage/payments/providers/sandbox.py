"""The sandbox provider: no network, no money; a hosted test checkout page stands in for the provider's."""
from django.urls import reverse

from microstage.ids import new_id

from ..events import Kind, PaymentEvent
from .base import BadSignature, Checkout, PaymentProvider, ProviderResult, RefundResult, SetupResult, SubscriptionResult

# A payment method id that the sandbox declines, so callers can test their failure paths.
DECLINE = "sandbox_decline"


class SandboxProvider(PaymentProvider):
    name = "sandbox"

    def create_checkout(self, *, amount, currency, description, metadata, success_url, cancel_url,
                        capture_method="automatic", customer_email="", idempotency_key="", transfer_destination="",
                        application_fee=None) -> Checkout:
        # No connected accounts in the sandbox: a destination charge is an ordinary one here.
        # The session id is the capability to complete the checkout, so it is long and random.
        session_id = new_id("sbcs", 24)
        return Checkout(self.name, reverse("payments:sandbox-checkout", args=[session_id]), session_id)

    def checkout_event(self, payment, outcome: str) -> PaymentEvent:
        """What a real provider's webhook would say after the payer clicked Pay or Decline on the test page.

        The event id is derived from the session and outcome, so a double click is one confirmation.
        """
        if outcome == "decline":
            return PaymentEvent(self.name, f"{payment.checkout_session}:declined", Kind.FAILED, payment_id=payment.id,
                                checkout_session=payment.checkout_session,
                                failure_message="The test card was declined.")
        if payment.metadata.get("subscription_interval"):  # a subscription checkout: its first period is paid
            return PaymentEvent(self.name, f"{payment.checkout_session}:completed", Kind.SUBSCRIPTION_PAID,
                                payment_id=payment.id, checkout_session=payment.checkout_session,
                                subscription=payment.subscription or new_id("sbsub", 20), invoice=new_id("sbin", 20),
                                provider_reference=new_id("sbpi", 20), amount=payment.amount,
                                currency=payment.currency)
        authorize = payment.capture_method == "manual"
        return PaymentEvent(self.name, f"{payment.checkout_session}:completed", Kind.CHECKOUT_COMPLETED,
                            payment_id=payment.id, checkout_session=payment.checkout_session,
                            provider_reference=payment.provider_reference or new_id("sbpi", 20),
                            amount=payment.amount, currency=payment.currency,
                            outcome="authorized" if authorize else "captured")

    def authorize(self, *, amount, currency, description, metadata, payment_method="", customer="",
                  idempotency_key="") -> ProviderResult:
        if payment_method == DECLINE:
            return ProviderResult(new_id("sbpi", 20), "failed", failure_message="The test card was declined.")
        return ProviderResult(new_id("sbpi", 20), "authorized", amount)  # immediate in the sandbox

    def capture(self, reference, *, amount, currency, idempotency_key="") -> ProviderResult:
        return ProviderResult(reference, "captured", amount)

    def cancel(self, reference, *, idempotency_key="") -> ProviderResult:
        return ProviderResult(reference, "cancelled")

    def refund(self, reference, *, amount, currency, metadata, idempotency_key="") -> RefundResult:
        return RefundResult(new_id("sbre", 20), amount)

    def create_customer(self, *, email, name="", metadata=None) -> str:
        return new_id("sbcus", 20)

    def save_payment_method(self, *, customer, payment_method="", metadata=None, idempotency_key="") -> SetupResult:
        return SetupResult(new_id("sbseti", 20), "succeeded", customer, payment_method or new_id("sbpm", 20))

    def charge_off_session(self, *, customer, payment_method, amount, currency, description, metadata,
                           idempotency_key="") -> ProviderResult:
        if payment_method == DECLINE:
            return ProviderResult(new_id("sbpi", 20), "failed", failure_message="The test card was declined.")
        return ProviderResult(new_id("sbpi", 20), "captured", amount)

    def create_subscription(self, *, customer, amount, currency, interval, description, metadata,
                            payment_method="", idempotency_key="") -> SubscriptionResult:
        return SubscriptionResult(new_id("sbsub", 20), "active", invoice=new_id("sbin", 20), invoice_paid=True,
                                  payment_reference=new_id("sbpi", 20))

    def create_subscription_checkout(self, *, amount, currency, interval, description, metadata,
                                     subscription_metadata, success_url, cancel_url, customer_email="",
                                     idempotency_key="") -> Checkout:
        return self.create_checkout(amount=amount, currency=currency, description=description, metadata=metadata,
                                    success_url=success_url, cancel_url=cancel_url)

    def cancel_subscription(self, reference) -> SubscriptionResult:
        return SubscriptionResult(reference, "canceled")

    def set_cancel_at_period_end(self, reference, cancel) -> SubscriptionResult:
        # Nothing renews by itself in the sandbox: memberships.tasks renews or ends due sandbox subscriptions.
        return SubscriptionResult(reference, "active")

    def parse_webhook(self, body, headers):
        raise BadSignature("The sandbox provider does not receive webhooks.")
