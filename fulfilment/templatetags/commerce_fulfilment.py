"""`{% fulfilment_section order %}`: the order page's delivery card (address, tracking, pickup and its QR)."""
from django import template
from django.template.loader import render_to_string

from fulfilment import services as fulfilment

register = template.Library()


@register.simple_tag(takes_context=True)
def fulfilment_section(context, order):
    request = context.get("request")
    data = fulfilment.buyer_view(order, getattr(request, "user", None)) if request else None
    return render_to_string("commerce/fulfilment_order.html", data, request) if data else ""
