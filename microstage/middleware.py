"""Which of a user's creators the dashboard is working on (the creator switcher)."""
from django.utils.functional import SimpleLazyObject

from . import selectors

SESSION_KEY = "current_creator"


def _current_membership(request):
    user = request.user
    if not user.is_authenticated:
        return None
    roles = list(selectors.team_roles(user))
    wanted = request.session.get(SESSION_KEY)
    return next((m for m in roles if m.creator_id == wanted), roles[0] if roles else None)


class CurrentCreatorMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        request.team_membership = SimpleLazyObject(lambda: _current_membership(request))
        return self.get_response(request)
