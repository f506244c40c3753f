"""Order emails: confirmation with receipt, refunds."""
from django.conf import settings
from django.core.mail import send_mail
from django.template.loader import render_to_string

from .models import Order


def send_order_email(order_id: str, what: str) -> None:
    order = Order.objects.select_related("creator").prefetch_related("lines").get(pk=order_id)
    context = {"order": order, "lines": list(order.lines.all()), "site_url": settings.SITE_URL,
               "url": settings.SITE_URL + order.get_absolute_url()}
    subject = render_to_string(f"commerce/email/order_{what}_subject.txt", context).strip()
    body = render_to_string(f"commerce/email/order_{what}.txt", context)
    send_mail(settings.ACCOUNT_EMAIL_SUBJECT_PREFIX + subject, body, None, [order.email])
