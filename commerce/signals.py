"""Signals commerce sends, so apps above it can react without commerce knowing them."""
from django.dispatch import Signal

# Sent inside the transaction that marks an order paid (receivers must be idempotent): order=Order.
order_paid = Signal()
