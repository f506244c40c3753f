"""The Stripe provider: Checkout Sessions, PaymentIntents (incl. manual capture), SetupIntents, refunds,
subscriptions and signed webhooks, through the official `stripe` library; dj-stripe mirrors objects."""
import json
import logging
from datetime import UTC, datetime
from decimal import Decimal

import stripe
from django.conf import settings
from django.db import transaction
from django.utils.translation import gettext as _

from ..events import Kind, PaymentEvent
from ..money import from_minor, to_minor
from .base import (
    BadSignature,
    CardDeclined,
    Checkout,
    PaymentProvider,
    ProviderError,
    ProviderResult,
    RefundResult,
    SetupResult,
    SubscriptionResult,
)

log = logging.getLogger(__name__)
DEFAULT_API_BASE = "https://api.stripe.com"

_PI_STATUS = {
    "requires_capture": "authorized",
    "succeeded": "captured",
    "canceled": "cancelled",
    "processing": "pending",
    "requires_action": "pending",
    "requires_confirmation": "pending",
    "requires_payment_method": "pending",
}


def _get(obj, key, default=None):
    """Read a field of a StripeObject (not a dict since stripe 8+) or a plain dict; absent means default."""
    if obj is None or isinstance(obj, str):
        return default
    try:
        value = obj.get(key) if isinstance(obj, dict) else obj[key]
    except (KeyError, TypeError):
        return default
    return default if value is None else value


def _card_fingerprint(intent) -> str:
    """The card's fingerprint from a payment intent whose latest charge is expanded (or, in older API
    versions, listed under `charges`); "" when Stripe did not include it."""
    charge = _get(intent, "latest_charge")
    if charge is None or isinstance(charge, str):  # not expanded
        charges = _get(_get(intent, "charges"), "data") or []
        charge = charges[0] if charges else None
    card = _get(_get(charge, "payment_method_details"), "card")
    return str(_get(card, "fingerprint", ""))[:255]


def _id(value) -> str:
    """An expandable field is either an id or an object; we want the id."""
    if not value:
        return ""
    return value if isinstance(value, str) else _get(value, "id", "")


class StripeProvider(PaymentProvider):
    name = "stripe"

    # --- plumbing ---------------------------------------------------------------------------
    def _options(self, idempotency_key: str = "") -> dict:
        # The API base is read on every call so tests (localstripe) and settings changes take effect at once.
        api_host = getattr(settings, "STRIPE_API_HOST", "")  # absent unless the environment names one
        stripe.api_base = api_host.rstrip("/") if api_host else DEFAULT_API_BASE
        if not settings.STRIPE_SECRET_KEY:
            raise ProviderError(_("Card payments are not configured."), code="payments_not_configured", status=503)
        options = {"api_key": settings.STRIPE_SECRET_KEY, "stripe_version": settings.STRIPE_API_VERSION}
        if idempotency_key:
            options["idempotency_key"] = idempotency_key
        return options

    def _call(self, func, *args, idempotency_key: str = "", **params):
        try:
            return func(*args, **params, **self._options(idempotency_key))
        except stripe.CardError as exc:
            raise CardDeclined(exc.user_message or _("The card was declined."), payment_intent=_card_error_intent(exc))
        except stripe.RateLimitError as exc:  # callers that batch (settlement) slow down and retry
            log.info("stripe rate limit on %s", getattr(func, "__qualname__", func))
            raise ProviderError(_("The payment provider asked us to slow down; retrying shortly."),
                                code="rate_limited", status=429) from exc
        except stripe.StripeError as exc:
            log.warning("stripe call %s failed: %s", getattr(func, "__qualname__", func), exc)
            raise ProviderError(exc.user_message or _("The payment provider could not complete the request."))

    def _pi_result(self, pi, requested: Decimal | None = None) -> ProviderResult:
        currency = _get(pi, "currency", "eur")
        status = _PI_STATUS.get(_get(pi, "status"), "pending")
        error = _get(pi, "last_payment_error")
        if status == "pending" and _get(pi, "status") == "requires_payment_method" and error:
            status = "failed"
        amount = None
        if status == "authorized":
            amount = from_minor(_get(pi, "amount_capturable") or _get(pi, "amount"), currency)
        elif status == "captured":
            # localstripe leaves amount_received out; what we asked to capture is then the truth.
            received = _get(pi, "amount_received")
            amount = from_minor(received, currency) if received else requested
            amount = amount or from_minor(_get(pi, "amount"), currency)
        _sync_djstripe("PaymentIntent", pi)
        return ProviderResult(_get(pi, "id"), status, amount, client_secret=_get(pi, "client_secret", ""),
                              failure_message=_get(error, "message", "") if error else "")

    # --- payments ---------------------------------------------------------------------------
    def create_checkout(self, *, amount, currency, description, metadata, success_url, cancel_url,
                        capture_method="automatic", customer_email="", idempotency_key="", transfer_destination="",
                        application_fee=None) -> Checkout:
        meta = {**metadata, "capture_method": capture_method}
        params = {
            "mode": "payment",
            "line_items": [{"quantity": 1, "price_data": {
                "currency": currency.lower(), "unit_amount": to_minor(amount, currency),
                "product_data": {"name": description or "Microstage"}}}],
            "success_url": success_url,
            "cancel_url": cancel_url,
            "client_reference_id": metadata.get("payment_id", ""),
            "metadata": meta,
            "payment_intent_data": {"capture_method": capture_method, "metadata": meta,
                                    "description": description[:1000]},
        }
        if customer_email:
            params["customer_email"] = customer_email
        if transfer_destination:  # Connect destination charge: the creator's account gets it, minus our fee
            params["payment_intent_data"]["transfer_data"] = {"destination": transfer_destination}
            if application_fee:
                params["payment_intent_data"]["application_fee_amount"] = to_minor(application_fee, currency)
        session = self._call(stripe.checkout.Session.create, idempotency_key=idempotency_key, **params)
        return Checkout(self.name, _get(session, "url"), _get(session, "id"))

    def authorize(self, *, amount, currency, description, metadata, payment_method="", customer="",
                  idempotency_key="") -> ProviderResult:
        params = {"amount": to_minor(amount, currency), "currency": currency.lower(), "capture_method": "manual",
                  "payment_method_types": ["card"], "metadata": {**metadata, "description": description[:500]}}
        if customer:
            params["customer"] = customer
        if payment_method:
            params.update(payment_method=payment_method, confirm=True)
        return self._intent(params, idempotency_key)

    def _intent(self, params, idempotency_key):
        try:
            pi = self._call(stripe.PaymentIntent.create, idempotency_key=idempotency_key, **params)
        except CardDeclined as exc:
            if not exc.extra.get("payment_intent"):
                raise
            # The intent exists and failed: report it as a failed payment rather than an error.
            return ProviderResult(exc.extra["payment_intent"], "failed", failure_message=exc.detail)
        return self._pi_result(pi)

    def capture(self, reference, *, amount, currency, idempotency_key="") -> ProviderResult:
        pi = self._call(stripe.PaymentIntent.capture, reference, amount_to_capture=to_minor(amount, currency),
                        idempotency_key=idempotency_key)
        return self._pi_result(pi, requested=amount)

    def cancel(self, reference, *, idempotency_key="") -> ProviderResult:
        pi = self._call(stripe.PaymentIntent.cancel, reference, idempotency_key=idempotency_key)
        return self._pi_result(pi)

    def refund(self, reference, *, amount, currency, metadata, idempotency_key="") -> RefundResult:
        params = {}
        if metadata.get("transfer_destination"):
            # A destination charge: take the money back from the creator's account, and our fee with it.
            params = {"reverse_transfer": True, "refund_application_fee": True}
        refund = self._call(stripe.Refund.create, payment_intent=reference, amount=to_minor(amount, currency),
                            metadata=metadata, idempotency_key=idempotency_key, **params)
        return RefundResult(_get(refund, "id"), from_minor(_get(refund, "amount"), currency))

    # --- saved payment methods and subscriptions ---------------------------------------------
    def create_customer(self, *, email, name="", metadata=None) -> str:
        params = {"email": email, "metadata": metadata or {}}
        if name:
            params["name"] = name
        customer = self._call(stripe.Customer.create, **params)
        _sync_djstripe("Customer", customer)
        return _get(customer, "id")

    def save_payment_method(self, *, customer, payment_method="", metadata=None, idempotency_key="") -> SetupResult:
        intent = self._call(stripe.SetupIntent.create, customer=customer, usage="off_session",
                            payment_method_types=["card"], metadata=metadata or {}, idempotency_key=idempotency_key)
        if payment_method:
            intent = self._call(stripe.SetupIntent.confirm, _get(intent, "id"), payment_method=payment_method)
        saved = _id(_get(intent, "payment_method"))
        if saved and _get(intent, "status") == "succeeded":
            # Make the saved method the customer's default so invoices (subscriptions) can charge it.
            self._call(stripe.Customer.modify, customer, invoice_settings={"default_payment_method": saved})
        return SetupResult(_get(intent, "id"), _get(intent, "status"), customer, saved,
                           client_secret=_get(intent, "client_secret", ""))

    def charge_off_session(self, *, customer, payment_method, amount, currency, description, metadata,
                           idempotency_key="") -> ProviderResult:
        params = {"amount": to_minor(amount, currency), "currency": currency.lower(), "customer": customer,
                  "payment_method": payment_method, "payment_method_types": ["card"], "confirm": True,
                  "off_session": True, "metadata": {**metadata, "description": description[:500]}}
        return self._intent(params, idempotency_key)

    def create_subscription(self, *, customer, amount, currency, interval, description, metadata,
                            payment_method="", idempotency_key="") -> SubscriptionResult:
        # A plan per subscription keeps the creator's price exactly as sold; plans are interchangeable with
        # prices in Stripe and are what localstripe understands.
        plan = self._call(stripe.Plan.create, amount=to_minor(amount, currency), currency=currency.lower(),
                          interval=interval, product={"name": description or "Membership"},
                          idempotency_key=f"{idempotency_key}:plan" if idempotency_key else "")
        if payment_method:
            self._call(stripe.Customer.modify, customer, invoice_settings={"default_payment_method": payment_method})
        sub = self._call(stripe.Subscription.create, customer=customer, items=[{"plan": _get(plan, "id")}],
                         metadata=metadata, expand=["latest_invoice"], idempotency_key=idempotency_key)
        _sync_djstripe("Subscription", sub)
        invoice = _get(sub, "latest_invoice")
        paid = bool(invoice) and not isinstance(invoice, str) and _get(invoice, "status") == "paid"
        return SubscriptionResult(_get(sub, "id"), _get(sub, "status"), invoice=_id(invoice), invoice_paid=paid,
                                  payment_reference=_id(_get(invoice, "payment_intent")) if paid else "",
                                  period_end=subscription_period_end(sub))

    def subscription_period_end(self, reference):
        return subscription_period_end(self._call(stripe.Subscription.retrieve, reference))

    def create_subscription_checkout(self, *, amount, currency, interval, description, metadata,
                                     subscription_metadata, success_url, cancel_url, customer_email="",
                                     idempotency_key="") -> Checkout:
        params = {
            "mode": "subscription",
            "line_items": [{"quantity": 1, "price_data": {
                "currency": currency.lower(), "unit_amount": to_minor(amount, currency),
                "recurring": {"interval": interval}, "product_data": {"name": description or "Membership"}}}],
            "success_url": success_url,
            "cancel_url": cancel_url,
            "client_reference_id": metadata.get("payment_id", ""),
            "metadata": metadata,
            "subscription_data": {"metadata": subscription_metadata},
        }
        if customer_email:
            params["customer_email"] = customer_email
        session = self._call(stripe.checkout.Session.create, idempotency_key=idempotency_key, **params)
        return Checkout(self.name, _get(session, "url"), _get(session, "id"))

    def create_setup_checkout(self, *, customer, metadata, success_url, cancel_url, idempotency_key=""):
        """A hosted page where the payer saves a card for later (Checkout in setup mode); the resulting
        setup_intent.succeeded webhook carries our metadata back."""
        session = self._call(stripe.checkout.Session.create, idempotency_key=idempotency_key, mode="setup",
                             customer=customer, payment_method_types=["card"],
                             setup_intent_data={"metadata": metadata}, metadata=metadata,
                             success_url=success_url, cancel_url=cancel_url)
        return Checkout(self.name, _get(session, "url"), _get(session, "id"))

    def cancel_subscription(self, reference) -> SubscriptionResult:
        sub = self._call(stripe.Subscription.cancel, reference)
        return SubscriptionResult(_get(sub, "id"), _get(sub, "status"))

    def set_cancel_at_period_end(self, reference, cancel) -> SubscriptionResult:
        sub = self._call(stripe.Subscription.modify, reference, cancel_at_period_end=bool(cancel))
        _sync_djstripe("Subscription", sub)
        return SubscriptionResult(_get(sub, "id"), _get(sub, "status"))

    # --- webhooks ---------------------------------------------------------------------------
    def parse_webhook(self, body: bytes, headers) -> list[PaymentEvent]:
        signature = headers.get("Stripe-Signature", "")
        secret = settings.STRIPE_WEBHOOK_SECRET
        if not secret or not signature:
            raise BadSignature("Missing webhook signature.")
        try:
            stripe.Webhook.construct_event(body, signature, secret)
            payload = json.loads(body)
        except (ValueError, stripe.SignatureVerificationError):
            raise BadSignature("Invalid webhook signature.")
        event = event_from_stripe(payload)
        return [event] if event else []


def _card_error_intent(exc) -> str:
    error = (exc.json_body or {}).get("error", {}) if isinstance(exc.json_body, dict) else {}
    return _id(error.get("payment_intent"))


def _timestamp(value) -> datetime | None:
    try:
        return datetime.fromtimestamp(int(value), tz=UTC) if value else None
    except (TypeError, ValueError, OverflowError, OSError):
        return None


def subscription_period_end(sub) -> datetime | None:
    """A subscription's `current_period_end` (API versions since 2025-03-31 keep it on each item)."""
    if not sub:
        return None
    end = _timestamp(_get(sub, "current_period_end"))
    if end is None:
        items = (_get(sub, "items") or {})
        ends = [_timestamp(_get(item, "current_period_end")) for item in (_get(items, "data") or [])]
        end = max((e for e in ends if e), default=None)
    return end


def invoice_period_end(invoice: dict) -> datetime | None:
    """The end of the subscription period an invoice bills: its subscription lines' `period.end`."""
    ends = [_timestamp((line.get("period") or {}).get("end"))
            for line in ((invoice.get("lines") or {}).get("data") or []) if isinstance(line, dict)]
    return max((e for e in ends if e), default=None)


def event_from_stripe(payload: dict) -> PaymentEvent | None:
    """Map one verified Stripe event to a neutral PaymentEvent (Kind.IGNORED for what we do not act on)."""
    event_id, kind_name = payload.get("id", ""), payload.get("type", "")
    if not event_id:
        return None
    obj = (payload.get("data") or {}).get("object") or {}
    meta = obj.get("metadata") or {}
    currency = (obj.get("currency") or "eur").upper()
    base = {"provider": "stripe", "event_id": event_id, "payment_id": meta.get("payment_id", ""),
            "currency": currency, "metadata": meta}

    def minor(key):
        return from_minor(obj[key], currency) if obj.get(key) is not None else None

    if kind_name in ("checkout.session.completed", "checkout.session.async_payment_succeeded"):
        if obj.get("mode") == "setup":
            return PaymentEvent(kind=Kind.SETUP_SUCCEEDED, **base)
        if (obj.get("mode") == "subscription" and obj.get("subscription")
                and obj.get("payment_status") in ("paid", "no_payment_required")):
            # The first period of a subscription started on the hosted page is paid.
            return PaymentEvent(kind=Kind.SUBSCRIPTION_PAID, checkout_session=obj.get("id", ""),
                                subscription=_id(obj.get("subscription")), invoice=_id(obj.get("invoice")),
                                amount=minor("amount_total"), **base)
        outcome = ""
        if obj.get("mode") == "payment":
            if obj.get("payment_status") == "paid":
                outcome = "captured"
            elif meta.get("capture_method") == "manual" and obj.get("status") == "complete":
                outcome = "authorized"
        return PaymentEvent(kind=Kind.CHECKOUT_COMPLETED, checkout_session=obj.get("id", ""),
                            provider_reference=_id(obj.get("payment_intent")),
                            subscription=_id(obj.get("subscription")), amount=minor("amount_total"), outcome=outcome,
                            **base)
    if kind_name == "checkout.session.async_payment_failed":
        return PaymentEvent(kind=Kind.FAILED, checkout_session=obj.get("id", ""), **base)
    if kind_name == "checkout.session.expired":
        return PaymentEvent(kind=Kind.CANCELLED, checkout_session=obj.get("id", ""), **base)
    if kind_name == "account.updated" and obj.get("id"):  # Connect: what Stripe still needs, what is enabled
        return PaymentEvent(kind=Kind.ACCOUNT_UPDATED, data=obj, **base)
    if kind_name in ("payout.paid", "payout.failed") and obj.get("id"):
        return PaymentEvent(kind=Kind.PAYOUT_PAID if kind_name == "payout.paid" else Kind.PAYOUT_FAILED,
                            provider_reference=obj["id"], failure_message=str(obj.get("failure_message") or ""),
                            **base)
    if kind_name.startswith("payment_intent."):
        ref = obj.get("id", "")
        if kind_name == "payment_intent.amount_capturable_updated" and obj.get("status") == "requires_capture":
            return PaymentEvent(kind=Kind.AUTHORIZED, provider_reference=ref, amount=minor("amount_capturable"), **base)
        if kind_name == "payment_intent.succeeded":
            return PaymentEvent(kind=Kind.CAPTURED, provider_reference=ref,
                                amount=minor("amount_received") or minor("amount"),
                                card_fingerprint=_card_fingerprint(obj), **base)
        if kind_name == "payment_intent.payment_failed":
            error = obj.get("last_payment_error") or {}
            return PaymentEvent(kind=Kind.FAILED, provider_reference=ref, failure_message=error.get("message", ""),
                                **base)
        if kind_name == "payment_intent.canceled":
            return PaymentEvent(kind=Kind.CANCELLED, provider_reference=ref, **base)
    if kind_name == "charge.refunded" and obj.get("payment_intent"):
        # After a partial capture Stripe reports the released remainder as refunded too; only real refunds count.
        released = (obj.get("amount") or 0) - (obj.get("amount_captured") or obj.get("amount") or 0)
        refunded = max((obj.get("amount_refunded") or 0) - max(released, 0), 0)
        return PaymentEvent(kind=Kind.REFUNDED, provider_reference=_id(obj.get("payment_intent")),
                            amount=from_minor(refunded, currency), **base)
    if kind_name in ("invoice.paid", "invoice.payment_failed"):
        details = (obj.get("parent") or {}).get("subscription_details") or obj.get("subscription_details") or {}
        subscription = _id(obj.get("subscription")) or _id(details.get("subscription"))
        amount = minor("amount_paid") if kind_name == "invoice.paid" else minor("amount_due")
        if subscription and amount:
            kind = Kind.SUBSCRIPTION_PAID if kind_name == "invoice.paid" else Kind.SUBSCRIPTION_FAILED
            return PaymentEvent(kind=kind, subscription=subscription, invoice=obj.get("id", ""),
                                provider_reference=_id(obj.get("payment_intent")), amount=amount,
                                period_end=invoice_period_end(obj),
                                **{**base, "metadata": details.get("metadata") or meta})
    if kind_name in ("charge.dispute.created", "charge.dispute.closed") and obj.get("id"):
        # Located by its payment intent; `dispute` keys the handlers' idempotency. A closed dispute that was not
        # won ("lost"; "warning_closed" is an inquiry that ended without a chargeback, so it counts as won).
        closed = kind_name == "charge.dispute.closed"
        outcome = ("lost" if obj.get("status") == "lost" else "won") if closed else ""
        return PaymentEvent(kind=Kind.DISPUTE_CLOSED if closed else Kind.DISPUTE_OPENED, dispute=obj["id"],
                            provider_reference=_id(obj.get("payment_intent")), amount=minor("amount"),
                            outcome=outcome,
                            **{**base, "metadata": {**meta, "reason": (obj.get("reason") or "")[:120]}})
    if kind_name == "customer.subscription.deleted":
        return PaymentEvent(kind=Kind.SUBSCRIPTION_ENDED, subscription=obj.get("id", ""), **base)
    if kind_name in ("customer.subscription.created", "customer.subscription.updated") and obj.get("id"):
        return PaymentEvent(kind=Kind.SUBSCRIPTION_UPDATED, subscription=obj["id"],
                            period_end=subscription_period_end(obj), **base)
    if kind_name == "setup_intent.succeeded":
        return PaymentEvent(kind=Kind.SETUP_SUCCEEDED, provider_reference=obj.get("id", ""),
                            **{**base, "metadata": {**meta, "payment_method": _id(obj.get("payment_method")),
                                                    "customer": _id(obj.get("customer"))}})
    return PaymentEvent(kind=Kind.IGNORED, **base)


def _sync_djstripe(model_name: str, data) -> None:
    """Mirror a Stripe object into dj-stripe's tables after commit. Best effort: the gateway never depends on it."""
    if not getattr(settings, "PAYMENTS_DJSTRIPE_SYNC", True) or not data:
        return

    def sync():
        try:
            from djstripe import models as djstripe_models

            with transaction.atomic():
                payload = data.to_dict() if hasattr(data, "to_dict") else data
                getattr(djstripe_models, model_name).sync_from_stripe_data(payload, api_key=settings.STRIPE_SECRET_KEY)
        except Exception:  # noqa: BLE001 - a mirror failing must not fail a payment
            log.info("dj-stripe sync of %s %s skipped", model_name, _get(data, "id"), exc_info=True)

    transaction.on_commit(sync)
