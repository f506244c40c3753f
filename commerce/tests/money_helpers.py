"""Helpers for the money tests (no tests of its own): a fake Stripe API at the HTTP boundary and Stripe-paid orders.

localstripe has neither disputes nor Connect, so the few Stripe calls these tests make (refunds, checkout sessions
with Connect parameters) go to a tiny local HTTP server that records what it was sent.
"""
import json
import threading
from decimal import Decimal
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qsl

import pytest
from django.test import Client

from commerce.models import Order
from microstage.payments.models import Payment
from microstage.tests.test_payments_helpers import WEBHOOK_SECRET, signed_headers, stripe_event


class FakeStripe:
    def __init__(self):
        self.requests: list[tuple[str, dict]] = []
        self.headers: list[dict] = []  # per request, in the same order
        self.fail: set[str] = set()  # paths answered with a Stripe error
        self.account: dict = {"id": "acct_new_1", "object": "account", "charges_enabled": False,
                              "payouts_enabled": False, "details_submitted": False,
                              "requirements": {"currently_due": ["external_account", "individual.dob.day"]}}

    def answer(self, path: str, form: dict) -> dict:
        if path.split("?")[0] in self.fail:
            return {"error": {"message": "Stripe said no.", "type": "invalid_request_error"}}
        if path == "/v1/transfers":
            return {"id": f"tr_{len(self.requests)}", "object": "transfer", "amount": int(form["amount"])}
        if path == "/v1/payouts":
            return {"id": f"po_{len(self.requests)}", "object": "payout", "amount": int(form["amount"]),
                    "arrival_date": 1893456000, "status": "pending"}
        if path == "/v1/accounts" or path.startswith("/v1/accounts/"):
            return self.account
        if path == "/v1/account_links":
            return {"object": "account_link", "url": "https://connect.stripe.test/setup/e/acct_new_1"}
        if path == "/v1/refunds":
            return {"id": f"re_{len(self.requests)}", "object": "refund", "amount": int(form["amount"]),
                    "currency": "eur", "status": "succeeded"}
        if path == "/v1/checkout/sessions":
            return {"id": f"cs_test_{len(self.requests)}", "object": "checkout.session",
                    "url": "https://checkout.stripe.test/pay"}
        return {"error": {"message": "not faked", "type": "invalid_request_error"}}


@pytest.fixture
def fake_stripe(settings):
    fake = FakeStripe()

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self):  # noqa: N802 - http.server's name
            self.do_POST()

        def do_POST(self):  # noqa: N802 - http.server's name
            body = self.rfile.read(int(self.headers.get("Content-Length") or 0)).decode()
            form = dict(parse_qsl(body))
            fake.headers.append(dict(self.headers))
            fake.requests.append((self.path, form))
            answer = fake.answer(self.path, form)
            data = json.dumps(answer).encode()
            self.send_response(400 if "error" in answer else 200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    settings.PAYMENTS_PROVIDER = "stripe"
    settings.STRIPE_SECRET_KEY = "sk_test_microstage0000000000000000"
    settings.STRIPE_WEBHOOK_SECRET = WEBHOOK_SECRET
    settings.STRIPE_API_HOST = f"http://127.0.0.1:{server.server_address[1]}"
    settings.PAYMENTS_DJSTRIPE_SYNC = False
    yield fake
    server.shutdown()
    server.server_close()


def post_webhook(event_id: str, kind: str, obj: dict) -> int:
    body = stripe_event(event_id, kind, obj)
    return Client().post("/payments/stripe/webhook/", body, content_type="application/json",
                         **signed_headers(body)).status_code


def awaiting_stripe(order: Order, intent: str) -> Payment:
    """The order in checkout with a Stripe Payment whose intent is `intent` (as start_checkout leaves it)."""
    payment = Payment.objects.create(provider="stripe", provider_reference=intent, checkout_session=f"cs_{intent}",
                                     amount=order.total, currency=order.currency, purpose="commerce.order",
                                     reference=order.pk)
    Order.objects.filter(pk=order.pk).update(status=Order.Status.AWAITING_PAYMENT, payment=payment)
    return payment


def intent_succeeded(payment: Payment, event_id: str) -> int:
    return post_webhook(event_id, "payment_intent.succeeded", {
        "id": payment.provider_reference, "object": "payment_intent", "status": "succeeded",
        "amount": int(payment.amount * 100), "amount_received": int(payment.amount * 100), "currency": "eur",
        "metadata": {"payment_id": payment.pk}})


def charge_refunded(payment: Payment, event_id: str, refunded: Decimal) -> int:
    cents = int(payment.amount * 100)
    return post_webhook(event_id, "charge.refunded", {
        "id": f"ch_{payment.provider_reference}", "object": "charge", "payment_intent": payment.provider_reference,
        "amount": cents, "amount_captured": cents, "amount_refunded": int(refunded * 100), "currency": "eur",
        "metadata": {"payment_id": payment.pk}})


def dispute(payment: Payment, event_id: str, dispute_id: str, kind: str = "created", status: str = "needs_response",
            amount: Decimal | None = None) -> int:
    return post_webhook(event_id, f"charge.dispute.{kind}", {
        "id": dispute_id, "object": "dispute", "charge": f"ch_{payment.provider_reference}",
        "payment_intent": payment.provider_reference, "amount": int((amount or payment.amount) * 100),
        "currency": "eur", "reason": "fraudulent", "status": status, "metadata": {}})
