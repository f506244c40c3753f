"""Order emails: confirmation with the receipt (and the signed receipt attached), refunds."""
import json

from django.conf import settings
from django.core.mail import EmailMessage
from django.template.loader import render_to_string
from django.utils import translation

from microstage.i18n import language_for

from . import receipts
from .models import Order


def send_order_email(order_id: str, what: str) -> None:
    order = Order.objects.select_related("creator", "buyer").prefetch_related("lines").get(pk=order_id)
    with translation.override(language_for(order.buyer)):
        _send_order_email(order, what)


def _send_order_email(order: Order, what: str) -> None:
    context = {"order": order, "lines": list(order.lines.all()), "site_url": settings.SITE_URL,
               "url": settings.SITE_URL + order.get_absolute_url(),
               "test_mode": settings.PAYMENTS_PROVIDER == "sandbox"}
    subject = " ".join(render_to_string(f"commerce/email/order_{what}_subject.txt", context).split())
    body = render_to_string(f"commerce/email/order_{what}.txt", context)
    message = EmailMessage(settings.ACCOUNT_EMAIL_SUBJECT_PREFIX + subject, body, None, [order.email])
    if what == "paid" and receipts.is_receipted(order):
        document = receipts.signed_receipt(order)
        message.attach(f"receipt-{order.pk}.json", json.dumps(document, ensure_ascii=False, indent=2),
                       "application/json")
    message.send()
