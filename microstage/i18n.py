"""Which language a page, an email or a message is in.

For a request (LanguageMiddleware), the first of these that names one of settings.LANGUAGES:
1. the person's account setting (`User.language`; blank means "the browser's"),
2. the language cookie the footer switcher sets (Django's `set_language` view, wrapped below so a
   logged-in person's choice is also saved to the account),
3. the browser's `Accept-Language`,
4. the event's own language, on that event's public pages (apps register a lookup from the resolved
   URL to the event's language with `register_event_language`),
5. settings.LANGUAGE_CODE.
URLs are the same in every language. Responses vary on Accept-Language and Cookie, and the page cache
keys every copy by the active language (events/page_cache.py).

For anything sent to a person (emails, SMS, notifications) `language_for(user, event)` picks the
account's language, else the event's, else the default: senders wrap rendering in
`translation.override(language_for(...))`.
"""
from __future__ import annotations

from collections.abc import Callable

from django.conf import settings
from django.http import HttpResponseNotAllowed
from django.utils import translation
from django.utils.cache import patch_vary_headers
from django.utils.translation.trans_real import get_supported_language_variant, parse_accept_lang_header
from django.views.i18n import set_language as django_set_language

# (resolver match) → the event's language code, or None when the page is not an event's.
_event_lookups: list[Callable] = []


def supported(code) -> str | None:
    """`code` as one of settings.LANGUAGES ("de-AT" → "de"), or None."""
    if not code or not isinstance(code, str):
        return None
    try:
        return get_supported_language_variant(code.strip()[:32])
    except LookupError:
        return None


def register_event_language(lookup: Callable) -> None:
    """`lookup(resolver_match)` returns the language of the event whose public page this is, or None."""
    if lookup not in _event_lookups:
        _event_lookups.append(lookup)


def _account_language(request) -> str | None:
    if settings.SESSION_COOKIE_NAME not in request.COOKIES:
        return None  # nobody logged in: do not touch the session (that alone would add "Vary: Cookie")
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return None
    return supported(getattr(user, "language", ""))


def _accept_language(request) -> str | None:
    for code, _quality in parse_accept_lang_header(request.headers.get("Accept-Language", "")):
        if code == "*":
            break
        found = supported(code)
        if found:
            return found
    return None


def request_language(request) -> tuple[str, bool]:
    """(language, chosen): chosen is False when nothing but the default named it (so an event may)."""
    for found in (_account_language(request), supported(request.COOKIES.get(settings.LANGUAGE_COOKIE_NAME)),
                  _accept_language(request)):
        if found:
            return found, True
    return supported(settings.LANGUAGE_CODE) or settings.LANGUAGE_CODE, False


def _activate(request, code: str) -> None:
    translation.activate(code)
    request.LANGUAGE_CODE = translation.get_language()


class LanguageMiddleware:
    """Replaces django.middleware.locale.LocaleMiddleware; sits after AuthenticationMiddleware."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        code, request.language_chosen = request_language(request)
        _activate(request, code)
        return language_headers(self.get_response(request), translation.get_language())

    def process_view(self, request, view_func, view_args, view_kwargs):
        if request.language_chosen or not _event_lookups:
            return None
        match = getattr(request, "resolver_match", None)
        for lookup in _event_lookups:
            found = supported(lookup(match)) if match is not None else None
            if found:
                _activate(request, found)
                break
        return None


def language_headers(response, language: str):
    """What every page says about its language (LanguageMiddleware; analytics.page_asgi for cached pages)."""
    if not getattr(response, "same_in_every_language", False):
        patch_vary_headers(response, ("Accept-Language", "Cookie"))
        response.headers.setdefault("Content-Language", language)
    return response


def language_for(user=None, event=None) -> str:
    """The language of something sent to `user` (a User, or None for a bare address) about `event`."""
    for found in (supported(getattr(user, "language", "")), supported(getattr(event, "language", ""))):
        if found:
            return found
    return supported(settings.LANGUAGE_CODE) or settings.LANGUAGE_CODE


def language_for_address(email: str, event=None) -> str:
    """language_for() the account with this email address, if there is one."""
    from .models import User

    user = User.objects.filter(email__iexact=(email or "").strip()).only("pk", "language").first() if email else None
    return language_for(user, event)


def set_language(request):
    """Django's set_language (cookie and redirect to `next`); a logged-in person's account keeps it too."""
    if request.method != "POST":
        return HttpResponseNotAllowed(["POST"])
    response = django_set_language(request)
    code = supported(request.POST.get("language"))
    user = getattr(request, "user", None)
    if code and code == request.POST.get("language") and user is not None and user.is_authenticated \
            and user.language != code:
        user.language = code
        user.save(update_fields=["language"])
    return response


# --- the JavaScript catalogue -----------------------------------------------------------------------

def _catalogue_version() -> str:
    """Changes whenever a djangojs catalogue is rebuilt, so browsers may keep each copy for long."""
    import hashlib

    stamps = [f"{p}:{p.stat().st_mtime_ns}" for root in settings.LOCALE_PATHS
              for p in sorted(root.glob("*/LC_MESSAGES/djangojs.mo"))]
    return hashlib.sha256("|".join(stamps).encode()).hexdigest()[:10]


CATALOGUE_VERSION = _catalogue_version()
CATALOGUE_MAX_AGE = 24 * 3600


def javascript_catalogue(request, lang: str):
    """/jsi18n/<lang>.js: gettext(), ngettext(), interpolate() and the formats for `lang` as globals, at
    its own URL (so a shared cache never mixes languages), cacheable for a day (the page adds ?v=)."""
    from django.http import Http404
    from django.views.i18n import JavaScriptCatalog

    code = supported(lang)
    if code != lang:
        raise Http404("No such language.")
    with translation.override(code):
        response = JavaScriptCatalog.as_view(domain="djangojs")(request)
    # Loaded as a module (every script of ours is one, see csp.py), where `this` is undefined at the
    # top: the catalogue's globals go on globalThis instead.
    response.content = response.content.replace(b"const globals = this;", b"const globals = globalThis;", 1)
    response["Cache-Control"] = f"public, max-age={CATALOGUE_MAX_AGE}"
    response["Content-Language"] = code
    response.same_in_every_language = True  # the language is in the URL: no Vary needed
    return response
