"""Every route that carries an id or token answers a NUL byte or garbage there with a 4xx, never a
500: the path converters (microstage/converters.py) refuse what cannot be an id before any query."""
import re

import pytest
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver

from microstage.models import Role
from microstage.tests.factories import CreatorFactory, team_member

GARBAGE = ["%00", "evt_%00", "%27%22%3C", "evt_" + "a" * 300, "9" * 30]
SKIP = ("admin/", "media/", "accounts/", "static/")


def _fill_regex(pattern: str, value: str) -> str:
    """A path from a regex route: named groups become `value`, anchors and escapes go."""
    out, i = [], 0
    while i < len(pattern):
        if pattern.startswith("(?P<", i):
            depth, j = 0, i
            while True:  # skip to the group's closing parenthesis
                if pattern[j] == "\\":
                    j += 2
                    continue
                depth += {"(": 1, ")": -1}.get(pattern[j], 0)
                j += 1
                if depth == 0:
                    break
            out.append(value)
            i = j
        else:
            out.append(pattern[i])
            i += 1
    path = "".join(out).lstrip("^").rstrip("$")
    return path.replace("\\.", ".")


def _fill(pattern: str, value: str) -> str:
    pattern = re.sub(r"<(?:\w+:)?(\w+)>", value, pattern)
    return _fill_regex(pattern, value) if "(?P<" in pattern else pattern.lstrip("^").rstrip("$")


def routes_with_ids() -> list[str]:
    found = []

    def walk(resolver, prefix=""):
        for p in resolver.url_patterns:
            pattern = prefix + str(p.pattern)
            if isinstance(p, URLResolver):
                walk(p, pattern)
            elif isinstance(p, URLPattern) and ("<" in pattern or "(?P<" in pattern):
                if not pattern.lstrip("^").startswith(SKIP) and "<slug:" not in pattern.replace("<slug:slug>", ""):
                    found.append(pattern)

    walk(get_resolver())
    return sorted(set(found))


ROUTES = routes_with_ids()


def test_the_routes_are_found():
    assert len(ROUTES) > 80
    assert any("door/" in r for r in ROUTES) and any("receipt.json" in r for r in ROUTES)


@pytest.fixture
def clients(db):
    anonymous = Client(raise_request_exception=False)
    member = Client(raise_request_exception=False)
    owner = team_member(CreatorFactory(), Role.OWNER)
    member.force_login(owner)
    return {"anonymous": anonymous, "owner": member}


@pytest.mark.django_db
@pytest.mark.parametrize("route", ROUTES)
def test_no_garbage_id_gives_a_500(clients, route):
    for value in GARBAGE:
        path = "/" + _fill(route.replace("<slug:slug>", "no-such-slug"), value)
        for who, client in clients.items():
            for method in ("get", "post"):
                r = getattr(client, method)(path)
                assert r.status_code < 500, f"{method.upper()} {path} as {who}: {r.status_code}"


def test_a_real_id_still_resolves():
    from django.urls import resolve

    assert resolve("/orders/ord_0123456789abcdef/receipt.json").url_name == "order-receipt-json"
    assert resolve("/g/gb_0123456789abcdef/").url_name == "group-buy"
    assert resolve("/api/v1/clips/clp_0123456789abcdef").url_name == "api-clip"
