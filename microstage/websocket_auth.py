"""Websocket authentication: an API token (`?token=`) or the session cookie from an allowed Origin.

The Origin check exists because a browser sends its cookies with a websocket opened by any site
(cross-site websocket hijacking). A token in the URL is never sent by a browser on its own, so a
token connection needs no Origin: door devices, a POS, bots and native apps send none."""
from urllib.parse import parse_qs

from channels.auth import AuthMiddlewareStack
from channels.db import database_sync_to_async
from channels.security.websocket import AllowedHostsOriginValidator

MAX_TOKEN_LENGTH = 64


@database_sync_to_async
def user_for_token(key: str):
    from microstage.api.authentication import active_user_for_token

    return active_user_for_token(key)


def token_from_scope(scope) -> str:
    query = parse_qs(scope.get("query_string", b"").decode("latin-1"))
    key = (query.get("token") or [""])[0]
    return key if len(key) <= MAX_TOKEN_LENGTH else ""


class TokenOrSessionAuth:
    """A valid token authenticates the connection by itself (its user wins over any cookie, with
    or without an Origin). Otherwise the session cookie is used, only from an allowed Origin; an
    unknown token counts as no token."""

    def __init__(self, inner):
        self.inner = inner
        self.session_stack = AllowedHostsOriginValidator(AuthMiddlewareStack(inner))

    async def __call__(self, scope, receive, send):
        key = token_from_scope(scope)
        user = await user_for_token(key) if key else None
        if user is not None:
            return await self.inner(dict(scope, user=user), receive, send)
        return await self.session_stack(scope, receive, send)
