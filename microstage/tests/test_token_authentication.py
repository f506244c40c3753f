"""API tokens are checked with one fixed read (microstage/api/authentication.py) and mean the same to the
API, the ASGI refusal fast path and the websocket handshake: known and active, or refused."""
import pytest
from asgiref.sync import async_to_sync
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from microstage.api.authentication import active_user_for_token, token_with_user
from microstage.websocket_auth import user_for_token

from .factories import UserFactory

pytestmark = pytest.mark.django_db(transaction=True)


def _client(key: str) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {key}")
    return client


def test_a_token_reads_its_user_in_one_query(django_assert_num_queries):
    user = UserFactory(display_name="Ada")
    key = Token.objects.create(user=user).key
    with django_assert_num_queries(1):
        token = token_with_user(key)
        assert token.user.display_name == "Ada"  # in hand: no second query
    assert token.user == user and token.user.email == user.email and not token._state.adding


def test_the_api_answers_a_known_token_and_refuses_unknown_and_inactive_ones():
    user = UserFactory()
    key = Token.objects.create(user=user).key
    assert _client(key).get("/api/v1/me").status_code == 200
    unknown = _client("0" * 40).get("/api/v1/me")
    assert unknown.status_code == 401 and unknown.json()["code"] == "authentication_failed"
    user.is_active = False
    user.save(update_fields=["is_active"])
    inactive = _client(key).get("/api/v1/me")
    assert inactive.status_code == 401 and inactive.json()["code"] == "authentication_failed"


@pytest.mark.parametrize("key", ["", "x' OR '1'='1", None, 42])
def test_odd_keys_find_nobody(key):
    Token.objects.create(user=UserFactory())
    assert token_with_user(key) is None and active_user_for_token(key) is None


def test_the_websocket_handshake_takes_the_same_tokens():
    user = UserFactory()
    key = Token.objects.create(user=user).key
    assert async_to_sync(user_for_token)(key) == user
    user.is_active = False
    user.save(update_fields=["is_active"])
    assert async_to_sync(user_for_token)(key) is None
    assert async_to_sync(user_for_token)("nope") is None
