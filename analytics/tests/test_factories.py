"""Every model of the platform has a factory that makes a valid row (tests build data with them
instead of hand-written create() calls). Lives in the top layer so it may import every app's."""
import importlib
import inspect

import factory
import pytest
from django.apps import apps

APPS = ("microstage", "commerce", "catalog", "groupbuys", "risk", "stock", "payouts", "fulfilment", "memberships",
        "events", "streaming", "analytics")


def _factories() -> dict:
    found = {}
    for app in APPS:
        module = importlib.import_module(f"{app}.tests.factories")
        for _, obj in inspect.getmembers(module, inspect.isclass):
            if issubclass(obj, factory.django.DjangoModelFactory) and obj._meta.model is not None \
                    and obj.__module__ == module.__name__:
                found[obj._meta.model] = obj
    return found


FACTORIES = _factories()


def _models() -> list:
    return [model for app in APPS for model in apps.get_app_config(app).get_models()
            if not model._meta.proxy and model._meta.managed]


def test_every_model_has_a_factory():
    missing = [model._meta.label for model in _models() if model not in FACTORIES]
    assert missing == [], f"models without a factory in <app>/tests/factories.py: {missing}"


@pytest.mark.django_db
@pytest.mark.parametrize("model_factory", sorted(FACTORIES.values(), key=lambda f: f._meta.model._meta.label),
                         ids=lambda f: f._meta.model._meta.label)
def test_the_factory_makes_a_valid_row(model_factory):
    made = model_factory()
    model = model_factory._meta.model
    assert model.objects.filter(pk=made.pk).exists()
    made.full_clean(validate_unique=False)  # what the admin and the forms would accept
    second = model_factory()  # sequences keep unique fields apart
    assert second.pk != made.pk
