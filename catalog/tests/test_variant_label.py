"""One variant label, wherever goods are named: "Tee — M / black", or "Tee" for a product's default variant."""
from pathlib import Path

import pytest

from catalog.models import DEFAULT_VARIANT, variant_label
from catalog.tests.factories import ProductVariantFactory


def test_the_label_names_the_variant_unless_it_is_the_default():
    assert variant_label("Tee", "M / black") == "Tee — M / black"
    assert variant_label("Tee", DEFAULT_VARIANT) == "Tee" and variant_label("Tee") == "Tee"


@pytest.mark.django_db
def test_a_variant_knows_its_label():
    variant = ProductVariantFactory(product__name="Hoodie", name="L")
    assert variant.label == "Hoodie — L"
    assert ProductVariantFactory(product__name="Poster", name=DEFAULT_VARIANT).label == "Poster"


def test_no_module_spells_the_label_itself():
    root = Path(__file__).resolve().parents[2]
    spelled = [str(p.relative_to(root)) for app in ("commerce", "catalog", "events", "memberships", "streaming",
                                                     "analytics")
               for p in (root / app).rglob("*.py")
               if "tests" not in p.parts and "migrations" not in p.parts and '== "Default"' in p.read_text()]
    spelled += [str(p.relative_to(root)) for p in (root / "templates").rglob("*.html") if '"Default"' in p.read_text()]
    assert spelled == []
