"""Template context every page shares: the creator switcher and the payments mode."""
from django.conf import settings
from django.utils.functional import SimpleLazyObject

from . import i18n, selectors


def platform(request):
    user = getattr(request, "user", None)
    return {
        "PAYMENTS_TEST_MODE": settings.PAYMENTS_PROVIDER == "sandbox",
        "SITE_URL": settings.SITE_URL,
        "JS_CATALOGUE_VERSION": i18n.CATALOGUE_VERSION,
        "team_roles": SimpleLazyObject(lambda: list(selectors.team_roles(user)) if user else []),
    }
