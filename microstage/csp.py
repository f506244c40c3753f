"""The Content-Security-Policy of every response (django-csp), with two additions per request.

- Pages whose scripts carry the request's nonce (every page drawn from base.html) get
  `'strict-dynamic'`: only nonced scripts and what they load may run, whatever the host. Pages that
  use no nonce (Django's admin, the browsable API) keep `'self'`, which is all their own
  `<script src>` tags need. Neither ever allows inline script: there is none in our templates.
- The websocket of this very host (ws:// or wss://) is added to connect-src, for browsers whose
  `'self'` does not cover websockets yet.
"""
from csp.constants import STRICT_DYNAMIC
from csp.middleware import CSPMiddleware, PolicyParts


class SiteCSPMiddleware(CSPMiddleware):
    def get_policy_parts(self, request, response, report_only: bool = False) -> PolicyParts:
        parts = super().get_policy_parts(request, response, report_only=report_only)
        update = dict(parts.update or {})
        if parts.nonce:
            update["script-src"] = [*update.get("script-src", []), STRICT_DYNAMIC]
        try:
            host = request.get_host()
        except Exception:  # a disallowed host: Django answers 400 itself
            host = ""
        if host:
            scheme = "wss" if request.is_secure() else "ws"
            update["connect-src"] = [*update.get("connect-src", []), f"{scheme}://{host}"]
        parts.update = update
        return parts
