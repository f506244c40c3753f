import pytest

from microstage.models import Role
from microstage.tests.factories import CreatorFactory, team_member

from .test_api_orders import make_tier
from .test_refusal_asgi import Counting


@pytest.fixture
def new_tier(make_api):
    """A published tier of `quantity` tickets, set up through the API by its creator's owner."""
    creator = CreatorFactory()
    owner_api = make_api(team_member(creator, Role.OWNER))
    return lambda quantity: make_tier(owner_api, creator, quantity=quantity)


@pytest.fixture
def django_app():
    """Django's ASGI app behind an ASGI fast path, counting the requests that reach it."""
    return Counting()
