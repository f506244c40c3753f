"""The event's own language on its public pages (/e/<slug>/...), for visitors who chose none.

Registered with microstage.i18n at start-up. The slug → language lookup is remembered in the cache
(a cached landing page costs no query) and forgotten whenever the event is saved (page_cache).
"""
from django.core.cache import cache

from .models import Event

SLUG_KEY = "page:slug-lang:{}"


def language_of_slug(slug: str) -> str:
    key = SLUG_KEY.format(slug)
    found = cache.get(key)
    if found is None:
        found = Event.objects.filter(slug=slug).values_list("language", flat=True).first() or ""
        cache.set(key, found, 300)
    return found


def for_match(match) -> str | None:
    """The event's language when `match` (a ResolverMatch) is one of its public pages."""
    slug = match.kwargs.get("slug")
    if not slug or not (match.route or "").startswith("e/<slug:slug>/"):
        return None
    return language_of_slug(str(slug)[:80]) or None


def register() -> None:
    from microstage import i18n

    i18n.register_event_language(for_match)
