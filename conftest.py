"""Shared pytest fixtures: API clients, users and creators on the real PostgreSQL and Redis."""
import pytest
from django.core.cache import cache
from rest_framework.test import APIClient


@pytest.fixture(autouse=True)
def _clean_cache():
    """Rate limits and sessions live in Redis; every test starts from an empty cache."""
    cache.clear()
    yield
    cache.clear()


@pytest.fixture
def api():
    return APIClient()


@pytest.fixture
def user(db):
    from microstage.tests.factories import UserFactory

    return UserFactory()


@pytest.fixture
def auth_api(user):
    client = APIClient()
    client.force_authenticate(user)
    client.user = user
    return client


@pytest.fixture
def make_api():
    """An API client authenticated as the given user."""

    def make(u):
        client = APIClient()
        client.force_authenticate(u)
        client.user = u
        return client

    return make
