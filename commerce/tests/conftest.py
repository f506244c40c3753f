import pytest

from microstage.models import Role
from microstage.tests.factories import CreatorFactory, team_member

from .test_api_orders import make_tier


@pytest.fixture
def new_tier(make_api):
    """A published tier of `quantity` tickets, set up through the API by its creator's owner."""
    creator = CreatorFactory()
    owner_api = make_api(team_member(creator, Role.OWNER))
    return lambda quantity: make_tier(owner_api, creator, quantity=quantity)


class Counting:
    """Django's ASGI app, counting the requests that reach it and keeping the bodies they carried."""

    def __init__(self):
        self.calls = 0
        self.bodies = []

    async def __call__(self, scope, receive, send):
        from microstage.asgi import django_asgi_app

        self.calls += 1
        self.bodies.append(b"")

        async def kept():
            message = await receive()
            self.bodies[-1] += message.get("body", b"")
            return message

        await django_asgi_app(scope, kept, send)


@pytest.fixture
def django_app():
    """Django's ASGI app behind an ASGI fast path, counting the requests that reach it."""
    return Counting()
