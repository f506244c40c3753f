"""One registry for sellable kinds: each kind is registered once, by the app that sells it, with every hook
commerce calls (offer, payment callbacks, the show a line settles after, the product it delivers, the order
page's block). No second per-kind registry may come back."""
import re
from pathlib import Path

import pytest
from django.core.exceptions import ImproperlyConfigured

from commerce import sellables

ROOT = Path(__file__).resolve().parents[2]

# kind -> hooks it must have besides `offer` (what the selling apps register at start-up).
EXPECTED = {
    "ticket": {"on_paid", "on_refunded", "on_cancelled", "group", "event_of", "product_of_line", "order_section"},
    "drop": {"group", "event_of", "product_of_line", "order_section"},
    "bundle": {"on_paid", "on_refunded", "on_cancelled", "product_of_line", "order_section"},
    "product": {"product_of_line", "order_section"},
    "group_buy": {"on_cancelled", "event_of"},
    "tip": {"on_paid", "event_of"},
    "replay": {"on_paid", "on_refunded", "event_of"},
    "clip": {"on_paid", "on_refunded", "event_of"},
    "pass": {"on_paid", "on_refunded"},
    "pos_item": set(),
}
HOOKS = ("on_paid", "on_refunded", "on_cancelled", "group", "event_of", "product_of_line", "order_section")


def test_every_kind_is_registered_once_with_all_its_hooks():
    for kind, hooks in EXPECTED.items():
        sellable = sellables.get(kind)
        assert sellable is not None, kind
        assert callable(sellable.offer)
        assert {h for h in HOOKS if getattr(sellable, h) is not None} == hooks, kind
    assert set(EXPECTED) <= set(sellables.kinds())


def test_a_kind_registered_again_with_other_hooks_is_refused():
    def offer(item_id, quantity, buyer):  # pragma: no cover - never asked
        raise AssertionError

    sellables.register("test-twice", offer=offer)
    try:
        sellables.register("test-twice", offer=offer)  # the same hooks again: harmless
        with pytest.raises(ImproperlyConfigured, match="registered twice"):
            sellables.register("test-twice", offer=offer, event_of=lambda line: "")
        assert sellables.get("test-twice").event_of is None
    finally:
        sellables._registry.pop("test-twice", None)


def test_lookups_follow_the_kind(db):
    class Line:
        kind, item_id, options = "tip", "x", {"event": "evt_1"}

    assert sellables.event_of(Line()) == "evt_1"
    Line.kind = "no-such-kind"
    assert sellables.event_of(Line()) == ""
    assert sellables.product_of_line(Line()) is None
    assert sellables.order_section("no-such-kind") is None


def test_no_second_registry_per_kind():
    pattern = re.compile(r"\b(register_event_of|register_download_resolver|register_order_section|"
                         r"_download_resolvers|register_drop_sellable|register_product_sellable)\b")
    found = []
    for path in ROOT.glob("*/**/*.py"):
        if ".venv" in path.parts or "node_modules" in path.parts or path == Path(__file__):
            continue
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
            if pattern.search(line):
                found.append(f"{path.relative_to(ROOT)}:{number}")
    assert found == []
