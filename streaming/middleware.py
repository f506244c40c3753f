"""Websocket auth by API token: `?token=<key>` in the URL, for clients without the session cookie."""
from urllib.parse import parse_qs

from channels.db import database_sync_to_async


@database_sync_to_async
def _user_for_token(key: str):
    from rest_framework.authtoken.models import Token

    token = Token.objects.select_related("user").filter(key=key).first()
    if token is None or not token.user.is_active:
        return None
    return token.user


class TokenAuthMiddleware:
    """Sets scope["user"] from a valid DRF token in the query string (inside AuthMiddlewareStack,
    so a token wins over the session). An unknown token leaves the scope as it was."""

    def __init__(self, inner):
        self.inner = inner

    async def __call__(self, scope, receive, send):
        query = parse_qs(scope.get("query_string", b"").decode("latin-1"))
        key = (query.get("token") or [""])[0]
        if key and len(key) <= 64:
            user = await _user_for_token(key)
            if user is not None:
                scope = dict(scope, user=user)
        return await self.inner(scope, receive, send)
