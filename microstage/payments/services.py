"""Gateway services: every write about money goes through here, in transactions, exactly once.

Callers (commerce, memberships) start payments here and learn the outcome through the handlers they
registered per `purpose` (see registry.py). Every confirmation — a provider webhook, the sandbox page, or
the answer to our own API call — becomes a PaymentEvent and goes through `handle_event`, the one place
that changes a Payment's status and calls handlers.
"""
import logging
from dataclasses import dataclass
from decimal import Decimal

from django.conf import settings
from django.db import IntegrityError, connection, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from microstage.errors import Conflict, Invalid, NotFound

from .events import Kind, PaymentEvent
from .models import Payment, ProcessedEvent
from .money import normalise_currency, to_minor, validate_amount
from .providers import get_provider
from .providers.base import ProviderResult, SetupResult
from .registry import connect_handler, handlers_for

log = logging.getLogger(__name__)
Status = Payment.Status

_RESULT_KINDS = {
    "authorized": Kind.AUTHORIZED,
    "captured": Kind.CAPTURED,
    "failed": Kind.FAILED,
    "cancelled": Kind.CANCELLED,
}


@dataclass(frozen=True)
class StartedCheckout:
    payment: Payment
    provider: str
    checkout_url: str
    session_id: str


# --- starting payments -----------------------------------------------------------------------

def _new_payment(*, amount, currency, description, purpose, reference, metadata, capture_method,
                 provider: str, **fields) -> Payment:
    if not purpose or not reference:
        raise Invalid(
            _("A payment needs a purpose and a reference."),
            fields={k: [_("Required.")] for k, v in (("purpose", purpose), ("reference", reference)) if not v},
        )
    meta = {str(k): str(v) for k, v in (metadata or {}).items()}
    amount, currency = validate_amount(amount), normalise_currency(currency or settings.DEFAULT_CURRENCY)
    to_minor(amount, currency)  # refuse what the currency cannot express (1500.50 JPY) before anything starts
    return Payment.objects.create(
        provider=provider, amount=amount, currency=currency, description=(description or "")[:255],
        purpose=purpose, reference=str(reference), metadata=meta, capture_method=capture_method, **fields,
    )


def _provider_metadata(payment: Payment) -> dict[str, str]:
    """What we ask the provider to echo back, so any confirmation can be matched to the Payment."""
    return {**payment.metadata, "payment_id": payment.id, "purpose": payment.purpose, "reference": payment.reference}


def start_checkout(*, amount: Decimal, currency: str | None = None, description: str, purpose: str, reference: str,
                   success_url: str, cancel_url: str, capture: str = Payment.Capture.AUTOMATIC,
                   metadata: dict | None = None, customer_email: str = "", transfer_destination: str = "",
                   application_fee: Decimal | None = None) -> StartedCheckout:
    """Create a pending Payment and the provider's hosted checkout page for it.

    `transfer_destination` (a connected account) makes it a destination charge: the provider moves the money to
    that account and keeps `application_fee` for the platform (Stripe Connect; the sandbox ignores both)."""
    provider = get_provider()
    with transaction.atomic():
        if transfer_destination:  # kept on the Payment so the caller's ledger knows the money went straight out
            metadata = {**(metadata or {}), "transfer_destination": transfer_destination,
                        "application_fee": str(application_fee or Decimal("0"))}
        payment = _new_payment(amount=amount, currency=currency, description=description, purpose=purpose,
                               reference=reference, metadata=metadata, capture_method=capture, provider=provider.name,
                               success_url=success_url, cancel_url=cancel_url)
        checkout = provider.create_checkout(
            amount=payment.amount, currency=payment.currency, description=payment.description,
            metadata=_provider_metadata(payment), success_url=success_url, cancel_url=cancel_url,
            capture_method=capture, customer_email=customer_email, idempotency_key=f"{payment.id}:checkout",
            transfer_destination=transfer_destination, application_fee=application_fee)
        payment.checkout_session = checkout.session_id
        payment.save(update_fields=["checkout_session", "updated_at"])
    return StartedCheckout(payment, checkout.provider, checkout.checkout_url, checkout.session_id)


def authorize(*, amount: Decimal, currency: str | None = None, description: str, purpose: str, reference: str,
              payment_method: str = "", customer: str = "", metadata: dict | None = None) -> Payment:
    """Hold money without taking it (manual capture). Immediate in the sandbox; with Stripe the Payment stays
    pending until confirmed when no payment method is given (`payment.client_secret` is for the browser)."""
    provider = get_provider()
    with transaction.atomic():
        payment = _new_payment(amount=amount, currency=currency, description=description, purpose=purpose,
                               reference=reference, metadata=metadata, capture_method=Payment.Capture.MANUAL,
                               provider=provider.name, customer=customer)
        result = provider.authorize(amount=payment.amount, currency=payment.currency, description=payment.description,
                                    metadata=_provider_metadata(payment), payment_method=payment_method,
                                    customer=customer, idempotency_key=f"{payment.id}:authorize")
        payment = _apply_result(payment, result, "authorize")
    return payment


def charge_off_session(*, customer: str, payment_method: str, amount: Decimal, currency: str | None = None,
                       description: str, purpose: str, reference: str, metadata: dict | None = None) -> Payment:
    """Charge a saved payment method while the payer is away (e.g. settling a group-buy at a new price)."""
    provider = get_provider()
    with transaction.atomic():
        payment = _new_payment(amount=amount, currency=currency, description=description, purpose=purpose,
                               reference=reference, metadata=metadata, capture_method=Payment.Capture.AUTOMATIC,
                               provider=provider.name, customer=customer)
        result = provider.charge_off_session(
            customer=customer, payment_method=payment_method, amount=payment.amount, currency=payment.currency,
            description=payment.description, metadata=_provider_metadata(payment),
            idempotency_key=f"{payment.id}:charge")
        payment = _apply_result(payment, result, "charge")
    return payment


def create_customer(*, email: str, name: str = "") -> str:
    """A provider customer id to keep (per user) for saved payment methods and subscriptions."""
    return get_provider().create_customer(email=email, name=name)


def save_payment_method(*, customer: str, payment_method: str = "") -> SetupResult:
    """Save a payment method for later off-session charges; without one, the browser confirms the
    SetupIntent with `client_secret`."""
    return get_provider().save_payment_method(customer=customer, payment_method=payment_method)


def start_setup_checkout(*, customer: str, purpose: str, reference: str, success_url: str, cancel_url: str) -> str:
    """The provider's page where the payer saves a card for later off-session charges; the purpose's
    on_setup_succeeded handler runs (once) when the provider confirms. Returns the page's URL."""
    meta = {"purpose": purpose, "reference": str(reference)}
    checkout = get_provider().create_setup_checkout(
        customer=customer, metadata=meta, success_url=success_url, cancel_url=cancel_url,
        idempotency_key=f"{purpose}:{reference}:setup")
    return checkout.checkout_url


def create_subscription(*, customer: str, amount: Decimal, currency: str | None = None, interval: str,
                        description: str, purpose: str, reference: str, payment_method: str = "",
                        metadata: dict | None = None) -> Payment:
    """Start a recurring charge. Returns the first period's Payment (captured once its invoice is paid);
    later periods arrive as new Payments with the same purpose, reference and `subscription`."""
    if interval not in ("month", "year"):
        raise Invalid(_("Subscriptions renew monthly or yearly."), fields={"interval": [_("Use month or year.")]})
    provider = get_provider()
    with transaction.atomic():
        payment = _new_payment(amount=amount, currency=currency, description=description, purpose=purpose,
                               reference=reference, metadata=metadata, capture_method=Payment.Capture.AUTOMATIC,
                               provider=provider.name, customer=customer)
        # No payment_id in the subscription's metadata: renewals must not be matched to this first Payment.
        meta = {**payment.metadata, "purpose": purpose, "reference": payment.reference}
        result = provider.create_subscription(
            customer=customer, amount=payment.amount, currency=payment.currency, interval=interval,
            description=payment.description, metadata=meta, payment_method=payment_method,
            idempotency_key=f"{payment.id}:subscription")
        payment.subscription = result.reference
        payment.save(update_fields=["subscription", "updated_at"])
        if result.invoice_paid:
            handle_event(PaymentEvent(provider.name, f"subscribe:{result.invoice}:paid", Kind.SUBSCRIPTION_PAID,
                                      subscription=result.reference, invoice=result.invoice,
                                      provider_reference=result.payment_reference, amount=payment.amount,
                                      currency=payment.currency, period_end=result.period_end))
        payment.refresh_from_db()
    return payment


def start_subscription_checkout(*, amount: Decimal, currency: str | None = None, interval: str, description: str,
                                purpose: str, reference: str, success_url: str, cancel_url: str,
                                metadata: dict | None = None, customer_email: str = "") -> StartedCheckout:
    """A hosted page where the payer starts a subscription. The first period's Payment stays pending until the
    provider says it is paid (checkout completed or first invoice paid, whichever arrives first: one capture);
    later periods arrive as new Payments, as with create_subscription."""
    if interval not in ("month", "year"):
        raise Invalid(_("Subscriptions renew monthly or yearly."), fields={"interval": [_("Use month or year.")]})
    provider = get_provider()
    with transaction.atomic():
        payment = _new_payment(amount=amount, currency=currency, description=description, purpose=purpose,
                               reference=reference, metadata={**(metadata or {}), "subscription_interval": interval},
                               capture_method=Payment.Capture.AUTOMATIC, provider=provider.name,
                               success_url=success_url, cancel_url=cancel_url)
        # The subscription names this Payment as "first_payment", not payment_id, so that only its first invoice
        # is matched to it (see _subscription_period) and renewals become Payments of their own.
        sub_meta = {**payment.metadata, "purpose": purpose, "reference": payment.reference, "first_payment": payment.id}
        checkout = provider.create_subscription_checkout(
            amount=payment.amount, currency=payment.currency, interval=interval, description=payment.description,
            metadata=_provider_metadata(payment), subscription_metadata=sub_meta, success_url=success_url,
            cancel_url=cancel_url, customer_email=customer_email,
            idempotency_key=f"{payment.id}:subscription-checkout")
        payment.checkout_session = checkout.session_id
        payment.save(update_fields=["checkout_session", "updated_at"])
    return StartedCheckout(payment, checkout.provider, checkout.checkout_url, checkout.session_id)


def subscription_period_end(subscription: str, *, provider: str | None = None):
    """When a subscription's current paid period ends, read from the provider (None when it cannot say)."""
    return get_provider(provider).subscription_period_end(subscription)


def set_cancel_at_period_end(subscription: str, cancel: bool, *, provider: str | None = None) -> None:
    """Ask the provider to stop (True) or keep (False) renewing a subscription after its paid period. Nothing
    ends now: the provider's ending notice (or cancel_subscription) runs on_subscription_ended later."""
    get_provider(provider).set_cancel_at_period_end(subscription, cancel)


def cancel_subscription(subscription: str, *, provider: str | None = None) -> None:
    """Stop a subscription now; the purpose's on_subscription_ended handler runs once."""
    provider_obj = get_provider(provider)
    with transaction.atomic():
        result = provider_obj.cancel_subscription(subscription)
        handle_event(PaymentEvent(provider_obj.name, f"unsubscribe:{subscription}", Kind.SUBSCRIPTION_ENDED,
                                  subscription=result.reference or subscription))


# --- acting on a payment ---------------------------------------------------------------------

def _locked(payment_id: str) -> Payment:
    try:
        return Payment.objects.select_for_update().get(pk=payment_id)
    except Payment.DoesNotExist:
        raise NotFound(_("No such payment."))


def capture(payment_id: str, amount: Decimal | None = None) -> Payment:
    """Take `amount` (default: all) of an authorisation; the rest is released by the provider."""
    with transaction.atomic():
        payment = _locked(payment_id)
        if payment.status != Status.AUTHORIZED:
            raise Conflict(
                _("Only an authorised payment can be captured (this one is %(status)s).") % {"status": payment.status},
                code="not_authorized",
            )
        amount = payment.amount if amount is None else validate_amount(amount)
        if amount > payment.amount:
            raise Invalid(
                _("Cannot capture more than was authorised."), fields={"amount": [_("More than authorised.")]}
            )
        result = get_provider(payment.provider).capture(payment.provider_reference, amount=amount,
                                                        currency=payment.currency,
                                                        idempotency_key=f"{payment.id}:capture:{amount}")
        return _apply_result(payment, result, "capture")


def release(payment_id: str) -> Payment:
    """Cancel an authorisation (or a payment not yet made); nothing is taken."""
    with transaction.atomic():
        payment = _locked(payment_id)
        if payment.status == Status.CANCELLED:
            return payment
        if payment.status not in (Status.PENDING, Status.AUTHORIZED):
            raise Conflict(
                _("A %(status)s payment cannot be released.") % {"status": payment.status}, code="not_releasable"
            )
        if payment.provider_reference:
            result = get_provider(payment.provider).cancel(payment.provider_reference,
                                                           idempotency_key=f"{payment.id}:cancel")
        else:  # a checkout nobody paid: nothing exists at the provider to cancel
            result = ProviderResult("", "cancelled")
        return _apply_result(payment, result, "release")


def refund(payment_id: str, amount: Decimal | None = None) -> Payment:
    """Give back `amount` (default: everything not yet refunded) of a captured payment."""
    with transaction.atomic():
        payment = _locked(payment_id)
        if payment.status not in (Status.CAPTURED, Status.PARTIALLY_REFUNDED):
            raise Conflict(
                _("Only a captured payment can be refunded (this one is %(status)s).") % {"status": payment.status},
                code="not_refundable",
            )
        amount = payment.refundable_amount if amount is None else validate_amount(amount)
        if amount > payment.refundable_amount:
            raise Invalid(
                _("At most %(refundable_amount)s %(currency)s can be refunded.")
                % {"refundable_amount": payment.refundable_amount, "currency": payment.currency},
                fields={"amount": [_("More than what is left to refund.")]},
            )
        result = get_provider(payment.provider).refund(
            payment.provider_reference, amount=amount, currency=payment.currency,
            metadata={"payment_id": payment.id, "purpose": payment.purpose, "reference": payment.reference},
            idempotency_key=f"{payment.id}:refund:{payment.refunded_amount}:{amount}")
        # Cumulative amount: the provider's own refund webhook then finds nothing left to do.
        handle_event(PaymentEvent(payment.provider, f"refund:{result.reference}", Kind.REFUNDED, payment_id=payment.id,
                                  provider_reference=payment.provider_reference,
                                  amount=payment.refunded_amount + result.amount, currency=payment.currency))
        payment.refresh_from_db()
        return payment


def _apply_result(payment: Payment, result: ProviderResult, operation: str) -> Payment:
    """Feed the provider's answer to an API call through handle_event, like any other confirmation.

    `payment` is locked by the caller: the event is applied to it in place (its handlers get this very
    instance), so it is not read again unless the event had been handled before."""
    if result.reference and not payment.provider_reference:
        payment.provider_reference = result.reference
        payment.save(update_fields=["provider_reference", "updated_at"])
    kind = _RESULT_KINDS.get(result.status)
    if kind and handle_event(PaymentEvent(payment.provider, f"{operation}:{payment.id}:{result.status}", kind,
                                          payment_id=payment.id, provider_reference=result.reference,
                                          amount=result.amount, currency=payment.currency,
                                          failure_message=result.failure_message), locked=payment) is None:
        payment.refresh_from_db()
    payment.client_secret = result.client_secret  # for the browser to confirm a pending intent; not stored
    return payment


# --- sandbox ---------------------------------------------------------------------------------

def sandbox_payment(session_or_payment: str) -> Payment:
    """The sandbox Payment behind a test checkout session id or a pay_… id; 404 outside the sandbox."""
    if settings.PAYMENTS_PROVIDER != "sandbox" or not session_or_payment:
        raise NotFound(_("No such test checkout."))
    payment = (Payment.objects.filter(provider="sandbox", checkout_session=session_or_payment).first()
               or Payment.objects.filter(provider="sandbox", pk=session_or_payment).first())
    if payment is None:
        raise NotFound(_("No such test checkout."))
    return payment


def sandbox_complete(session_or_payment, outcome: str = "pay") -> Payment:
    """Pay (or decline) a sandbox checkout through the same path a provider webhook takes."""
    from .providers.sandbox import SandboxProvider

    if outcome not in ("pay", "decline"):
        raise Invalid(_("Outcome is pay or decline."), fields={"outcome": [_("Use pay or decline.")]})
    key = session_or_payment.pk if isinstance(session_or_payment, Payment) else session_or_payment
    payment = sandbox_payment(key)
    provider = get_provider("sandbox")
    assert isinstance(provider, SandboxProvider)
    handle_event(provider.checkout_event(payment, outcome))
    payment.refresh_from_db()
    return payment


# --- confirmations ---------------------------------------------------------------------------

def handle_webhook(provider_name: str, body: bytes, headers) -> int:
    """Verify a provider webhook and handle what it says; returns how many events were new.
    Raises BadSignature (400) before touching anything when the signature does not verify."""
    events = get_provider(provider_name).parse_webhook(body, headers)
    return sum(1 for event in events if handle_event(event) is not None)


def handle_event(event: PaymentEvent, *, locked: Payment | None = None) -> ProcessedEvent | None:
    """Apply one neutral event exactly once: None when it was already handled.

    The (provider, event_id) unique constraint makes a concurrent duplicate wait for the first and then
    see it as done; the Payment row lock plus status checks make two *different* events that mean the
    same thing (e.g. Stripe's checkout.session.completed and payment_intent.succeeded) act once.

    `locked`: the Payment the event is about, already locked by the caller in this transaction (our own
    API calls: capture, release…); it is used as it is, instead of being located and read again.
    """
    with transaction.atomic():
        if locked is not None and event.payment_id != locked.pk:
            locked = None
        record = _record_event(event, locked)
        if record is None:
            log.info("payment event %s:%s already handled", event.provider, event.event_id)
            return None
        if event.kind == Kind.SETUP_SUCCEEDED:
            meta = event.metadata or {}
            if meta.get("purpose") and meta.get("reference") and meta.get("payment_method"):
                _call(handlers_for(meta["purpose"]).on_setup_succeeded, meta["reference"], meta["payment_method"],
                      meta.get("customer", ""))
            return record
        if event.kind == Kind.IGNORED:
            return record
        if event.kind in (Kind.ACCOUNT_UPDATED, Kind.PAYOUT_PAID, Kind.PAYOUT_FAILED):
            _connect_news(event)
            return record
        payment = locked or _locate(event)
        if payment is None:
            # Not ours (e.g. a payment made outside Microstage on the same account): remember and move on.
            log.warning("payment event %s:%s (%s) matches no payment", event.provider, event.event_id, event.kind)
            return record
        if record.payment_id != payment.pk:
            record.payment = payment
            record.save(update_fields=["payment"])
        _apply(payment, event)
        return record


def _record_event(event: PaymentEvent, payment: Payment | None) -> ProcessedEvent | None:
    """Remember the event, once (one INSERT … ON CONFLICT DO NOTHING): the new record, or None when it
    was recorded before. A concurrent insert of the same event waits for that transaction: committed, it
    counts as recorded; rolled back, this one is the first."""
    record = ProcessedEvent(provider=event.provider, event_id=event.event_id[:255], kind=event.kind,
                            payment=payment, processed_at=timezone.now())
    table = ProcessedEvent._meta.db_table
    sql = (f'INSERT INTO "{table}" ("provider", "event_id", "kind", "payment_id", "processed_at") '  # noqa: S608
           'VALUES (%s, %s, %s, %s, %s) ON CONFLICT ("provider", "event_id") DO NOTHING RETURNING "id"')  # our table
    with connection.cursor() as cursor:
        cursor.execute(sql, [record.provider, record.event_id, record.kind, record.payment_id, record.processed_at])
        row = cursor.fetchone()
    if row is None:
        return None
    record.pk = row[0]
    record._state.adding, record._state.db = False, connection.alias
    return record


def _connect_news(event: PaymentEvent) -> None:
    """Inside handle_event's transaction (so a replay does nothing): tell the app that keeps Connect state."""
    if event.kind == Kind.ACCOUNT_UPDATED:
        _call(connect_handler("on_account_updated"), event.data)
    else:
        _call(connect_handler("on_payout"), event.provider_reference,
              "paid" if event.kind == Kind.PAYOUT_PAID else "failed", event.failure_message)


def _locate(event: PaymentEvent) -> Payment | None:
    """Find (and lock) the Payment an event is about."""
    qs = Payment.objects.select_for_update().filter(provider=event.provider)
    if event.kind in (Kind.SUBSCRIPTION_PAID, Kind.SUBSCRIPTION_FAILED):
        return _subscription_period(qs, event)
    if event.kind in (Kind.SUBSCRIPTION_ENDED, Kind.SUBSCRIPTION_UPDATED):
        if not event.subscription:
            return None
        return qs.filter(subscription=event.subscription).order_by("-created_at").first()
    for field, value in (("pk", event.payment_id), ("checkout_session", event.checkout_session),
                         ("provider_reference", event.provider_reference)):
        if value:
            payment = qs.filter(**{field: value}).first()
            if payment:
                return payment
    return None


def _subscription_period(qs, event: PaymentEvent) -> Payment | None:
    """The Payment for one subscription invoice: known, the first period's placeholder, or a new renewal."""
    if event.invoice and (payment := qs.filter(invoice=event.invoice).first()):
        return payment
    first = None
    # A subscription started on a hosted page: its first invoice belongs to the checkout's Payment, whether the
    # checkout's completion or the invoice's payment is told first.
    if event.checkout_session:
        first = qs.filter(checkout_session=event.checkout_session).first()
    elif event.metadata.get("first_payment"):
        first = qs.filter(pk=event.metadata["first_payment"], invoice="").first()
    if first is None and event.subscription:
        first = (qs.filter(subscription=event.subscription, invoice="", status=Status.PENDING)
                 .order_by("created_at").first())
    if first:
        if event.invoice and not first.invoice:
            first.invoice = event.invoice
            first.save(update_fields=["invoice", "updated_at"])
        return first
    template = qs.filter(subscription=event.subscription).order_by("-created_at").first()
    purpose = template.purpose if template else event.metadata.get("purpose", "")
    reference = template.reference if template else event.metadata.get("reference", "")
    if not (purpose and reference and event.amount):
        return None
    try:
        with transaction.atomic():
            return Payment.objects.create(
                provider=event.provider, subscription=event.subscription, invoice=event.invoice,
                amount=event.amount, currency=event.currency or (template.currency if template else ""),
                purpose=purpose, reference=reference, customer=template.customer if template else "",
                description=template.description if template else "", metadata=template.metadata if template else {})
    except IntegrityError:  # a concurrent event for the same invoice created it first
        return qs.filter(invoice=event.invoice).first()


def _apply(payment: Payment, event: PaymentEvent) -> None:
    """Move the Payment forward and tell its purpose's handlers. Stale or repeated news changes nothing."""
    handlers = handlers_for(payment.purpose)
    kind, changed = event.kind, []
    if event.provider_reference and not payment.provider_reference:
        payment.provider_reference, changed = event.provider_reference, changed + ["provider_reference"]
    if event.subscription and not payment.subscription:
        payment.subscription, changed = event.subscription, changed + ["subscription"]
    if event.card_fingerprint and (payment.metadata or {}).get("card_fingerprint") != event.card_fingerprint:
        payment.metadata = {**(payment.metadata or {}), "card_fingerprint": event.card_fingerprint}
        changed.append("metadata")
    if event.period_end and kind in (Kind.SUBSCRIPTION_PAID, Kind.CHECKOUT_COMPLETED):
        # The period this payment paid for ends when the provider says (handlers read it from here).
        payment.metadata = {**(payment.metadata or {}), "period_end": event.period_end.isoformat()}
        if "metadata" not in changed:
            changed.append("metadata")
    if kind == Kind.CHECKOUT_COMPLETED:
        kind = {"captured": Kind.CAPTURED, "authorized": Kind.AUTHORIZED}.get(event.outcome, "")

    def save(*fields):
        payment.save(update_fields=[*changed, *fields, "updated_at"])

    if kind == Kind.AUTHORIZED and payment.status == Status.PENDING:
        payment.status = Status.AUTHORIZED
        save("status")
        _call(handlers.on_authorized, payment)
    elif kind in (Kind.CAPTURED, Kind.SUBSCRIPTION_PAID) and (
            payment.status in (Status.PENDING, Status.AUTHORIZED)
            # A provider retries a failed invoice; its later payment is the same period, now paid.
            or (kind == Kind.SUBSCRIPTION_PAID and payment.status == Status.FAILED)):
        payment.status = Status.CAPTURED
        payment.captured_amount = min(event.amount or payment.amount, payment.amount)
        save("status", "captured_amount")
        _call(handlers.on_paid, payment)
    elif kind in (Kind.FAILED, Kind.SUBSCRIPTION_FAILED) and payment.status == Status.PENDING:
        payment.status = Status.FAILED
        payment.failure_message = (event.failure_message or "The payment failed.")[:500]
        save("status", "failure_message")
        _call(handlers.on_failed, payment)
    elif kind == Kind.CANCELLED and payment.status in (Status.PENDING, Status.AUTHORIZED):
        payment.status = Status.CANCELLED
        save("status")
        _call(handlers.on_cancelled, payment)
    elif kind == Kind.REFUNDED and payment.status in (Status.CAPTURED, Status.PARTIALLY_REFUNDED):
        total = min(event.amount or Decimal("0"), payment.captured_amount)
        delta = total - payment.refunded_amount
        if delta <= 0:
            if changed:
                save()
            return
        payment.refunded_amount = total
        payment.status = Status.REFUNDED if total >= payment.captured_amount else Status.PARTIALLY_REFUNDED
        save("refunded_amount", "status")
        _call(handlers.on_refunded, payment, delta)
    elif kind == Kind.SUBSCRIPTION_UPDATED:
        if changed:
            save()
        _call(handlers.on_subscription_updated, payment, event)
    elif kind in (Kind.DISPUTE_OPENED, Kind.DISPUTE_CLOSED) and event.dispute:
        # The Payment's own status stays: a dispute is about captured money, decided later. Handlers key on
        # `event.dispute`, so a closing told before its opening (or twice) still acts once.
        if changed:
            save()
        _call(handlers.on_dispute_opened if kind == Kind.DISPUTE_OPENED else handlers.on_dispute_closed,
              payment, event)
    elif kind == Kind.SUBSCRIPTION_ENDED:
        # Our own cancel call and the provider's webhook are two events for one ending: act once.
        _processed, first = ProcessedEvent.objects.get_or_create(provider=payment.provider,
                                                        event_id=f"subscription-ended:{payment.subscription}",
                                                        defaults={"kind": kind, "payment": payment})
        if first:
            _call(handlers.on_subscription_ended, payment)
    else:
        if changed:
            save()
        if kind:
            log.info("payment %s is %s; %s from %s changes nothing", payment.id, payment.status, kind, event.event_id)


def _call(callback, *args) -> None:
    if callback is not None:
        callback(*args)
