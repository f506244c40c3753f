"""API tokens: DRF's TokenAuthentication, with its one read (the token and its user) as fixed SQL.

Every API request that carries a token makes this read, the buyers of a ticket rush included; built
by the ORM it cost about 0.5 ms of CPU, written once (microstage/hotsql.py) about a third of that.
The websocket handshake (microstage/websocket_auth.py) and the ASGI refusal fast path
(commerce/api/refusal_asgi.py) check tokens through the same read, so a token means the same
everywhere."""
from django.contrib.auth import get_user_model
from django.utils.translation import gettext_lazy as _
from rest_framework import authentication, exceptions
from rest_framework.authtoken.models import Token

from microstage import hotsql


def token_with_user(key: str) -> Token | None:
    """The token with this key, its user in hand; None when there is none."""
    if not isinstance(key, str):
        return None
    user_model = get_user_model()
    rows = hotsql.fetch(hotsql.statement("SELECT {t}, {u} FROM {t_table} t JOIN {u_table} u ON u.id = t.user_id "
                                         "WHERE t.key = %s", t=Token, u=user_model),
                        [key], (Token, "t"), (user_model, "u"))
    if not rows:
        return None
    token, user = rows[0]
    hotsql.attach(token, "user", user)
    return token


def active_user_for_token(key: str):
    """The active user this token belongs to, or None (unknown token, or the user is deactivated)."""
    token = token_with_user(key)
    return token.user if token is not None and token.user.is_active else None


class TokenAuthentication(authentication.TokenAuthentication):
    """`Authorization: Token <key>`, answered as DRF answers it (same errors, same `(user, token)`)."""

    def authenticate_credentials(self, key):
        token = token_with_user(key)
        if token is None:
            raise exceptions.AuthenticationFailed(_("Invalid token."))
        if not token.user.is_active:
            raise exceptions.AuthenticationFailed(_("User inactive or deleted."))
        return token.user, token
