"""Secrets generated once into the data directory when the environment does not set them.

Django-free on purpose: `make run` (microstage.devstack) reads the same file before the settings
exist, so the web process and the nginx it configures agree on the value.
"""
import secrets
from pathlib import Path


def read_or_create(path: Path, nbytes: int = 32) -> str:
    """The secret kept in `path`, created (URL-safe, owner-only) on first use."""
    path = Path(path)
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(secrets.token_urlsafe(nbytes))
        path.chmod(0o600)
    return path.read_text().strip()
