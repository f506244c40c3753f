"""Opaque, prefixed public ids ("evt_9f3k...") used as primary keys: never sequential."""
import secrets

from django.db import models
from django.utils.deconstruct import deconstructible

_ALPHABET = "0123456789abcdefghjkmnpqrstvwxyz"  # Crockford base32, lower case


def new_id(prefix: str, length: int = 16) -> str:
    return f"{prefix}_" + "".join(secrets.choice(_ALPHABET) for _ in range(length))


@deconstructible
class IdFactory:
    """A migration-serialisable default for a prefixed id."""

    def __init__(self, prefix: str):
        self.prefix = prefix

    def __call__(self) -> str:
        return new_id(self.prefix)

    def __eq__(self, other):
        return isinstance(other, IdFactory) and other.prefix == self.prefix


def PublicIdField(prefix: str) -> models.CharField:  # noqa: N802 - reads like a field class
    return models.CharField(primary_key=True, max_length=32, default=IdFactory(prefix), editable=False)
