"""Payments gateway: one provider-neutral way to take, hold, capture and refund money.

Other apps call `microstage.payments.services` and register what happens when money moves:

    from microstage import payments
    payments.register_handler("commerce.order", on_paid=..., on_failed=..., on_refunded=...)
"""
from .registry import register_handler, unregister_handler

__all__ = ("register_handler", "unregister_handler")
