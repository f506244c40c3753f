"""Payment providers behind one interface; `get_provider()` picks the configured one."""
from django.conf import settings

from .base import PaymentProvider

_instances: dict[str, PaymentProvider] = {}


def get_provider(name: str | None = None) -> PaymentProvider:
    """The provider called `name`, or the configured one (settings.PAYMENTS_PROVIDER: "sandbox" | "stripe")."""
    name = name or settings.PAYMENTS_PROVIDER
    if name not in _instances:
        if name == "sandbox":
            from .sandbox import SandboxProvider

            _instances[name] = SandboxProvider()
        elif name == "stripe":
            from .stripe_provider import StripeProvider

            _instances[name] = StripeProvider()
        else:
            raise ValueError(f"unknown payments provider {name!r}")
    return _instances[name]
