"""Moving models out of commerce into their own apps loses no row: the database is taken back to the
state before the split, filled (the demo, every commerce factory, and rows of the moved models made
through the historical models), migrated forward, and every row of every moved table is still there,
reachable through the model in its new app, with its content type, permissions and admin log entries.

Each move adds its models to MOVED. Models and the new apps' factories are named by app label
(apps.get_model, importlib), so this test in commerce imports no app above it."""
import importlib
import inspect
import io

import factory
import pytest
from django.apps import apps
from django.contrib.admin.models import ADDITION, LogEntry
from django.contrib.auth.models import Permission
from django.contrib.contenttypes.models import ContentType
from django.core.management import call_command
from django.db import connection
from django.db.migrations.executor import MigrationExecutor

from commerce.tests import factories
from microstage.tests.factories import UserFactory

BEFORE_SPLIT = ("commerce", "0008_one_stock")
# new app label -> models that moved there from commerce
MOVED = {
    "risk": ["CheckoutAttempt", "RiskReview"],
    "stock": ["StockLocation", "StockMovement", "StockOverride", "PosSale"],
    "payouts": ["Tip", "LedgerEntry", "Dispute", "PayoutProfile", "Payout", "PayoutLine"],
    "fulfilment": ["ShippingBatch", "Shipment", "PickupWindow", "Pickup", "FulfilmentCost"],
    "groupbuys": ["GroupBuy", "GroupBuyPriceTier", "GroupBuyParticipant"],
    "catalog": ["Product", "ProductVariant"],
}
ROWS_PER_MODEL = 2


def _migrate(targets):
    executor = MigrationExecutor(connection)
    executor.loader.build_graph()
    executor.migrate(targets)
    return executor


def _factories(module):
    return [cls for _, cls in inspect.getmembers(module, inspect.isclass)
            if issubclass(cls, factory.django.DjangoModelFactory) and cls._meta.model is not None
            and cls.__module__ == module.__name__]


def _fill_historical(old_apps, user):
    """Rows of moved models made through their historical models in commerce (before the split)."""
    attempt = old_apps.get_model("commerce", "CheckoutAttempt")
    review = old_apps.get_model("commerce", "RiskReview")
    for i in range(ROWS_PER_MODEL):
        o = factories.OrderFactory()
        attempt.objects.create(user_id=user.pk, email=f"a{i}@example.com", ip_hash="ab" * 32, order_id=o.pk)
        review.objects.create(order_id=o.pk, score=70 + i, reasons=["test"], decided_by_id=user.pk)


def _rows(table):
    with connection.cursor() as cursor:
        cursor.execute(f'SELECT * FROM "{table}" ORDER BY 1')  # noqa: S608 - our own table names
        columns = [c.name for c in cursor.description]
        return [dict(zip(columns, row, strict=True)) for row in cursor.fetchall()]


@pytest.mark.django_db(transaction=True)
def test_moving_models_out_of_commerce_keeps_every_row_and_content_type():
    leaves = MigrationExecutor(connection).loader.graph.leaf_nodes()
    executor = _migrate([BEFORE_SPLIT] + [(label, None) for label in MOVED])
    old_apps = executor.loader.project_state([BEFORE_SPLIT]).apps
    try:
        call_command("demo", stdout=io.StringIO())
        # The factories write through today's models: the tables are the ones the old state has.
        for label in ["commerce", *MOVED]:
            for cls in _factories(importlib.import_module(f"{label}.tests.factories")):
                cls.create_batch(ROWS_PER_MODEL)
        staff = UserFactory(is_staff=True)
        _fill_historical(old_apps, staff)
        # Before the split each moved model's content type is commerce's, with its permissions and an
        # admin log entry. For the first model of each app a content type under the new label exists
        # too (post_migrate ran in between), with a permission both have and one only it has.
        old_types, newcomers = {}, set()
        for label, models in MOVED.items():
            newcomers.add(models[0])
            early = ContentType.objects.create(app_label=label, model=models[0].lower())
            for codename in (f"view_{models[0].lower()}", f"export_{models[0].lower()}"):
                Permission.objects.create(content_type=early, codename=codename, name=codename)
            for name in models:
                ct, _ = ContentType.objects.get_or_create(app_label="commerce", model=name.lower())
                for action in ("add", "change", "delete", "view"):
                    Permission.objects.get_or_create(content_type=ct, codename=f"{action}_{name.lower()}",
                                                     defaults={"name": f"Can {action} {name}"})
                LogEntry.objects.create(user=staff, content_type=ct, object_id="1", object_repr=name,
                                        action_flag=ADDITION)
                old_types[name] = ct.pk
        tables = {name: old_apps.get_model("commerce", name)._meta.db_table
                  for models in MOVED.values() for name in models}
        before = {name: _rows(table) for name, table in tables.items()}
        assert all(len(rows) >= ROWS_PER_MODEL for rows in before.values()), before
    finally:
        _migrate(leaves)
    ContentType.objects.clear_cache()

    for label, models in MOVED.items():
        for name in models:
            model = apps.get_model(label, name)
            assert model._meta.db_table == tables[name]
            assert _rows(tables[name]) == before[name], name
            assert sorted(model.objects.values_list("pk", flat=True)) == sorted(r["id"] for r in before[name])
            for obj in model.objects.all():  # every foreign key still leads to its row
                for field in model._meta.concrete_fields:
                    if field.is_relation and getattr(obj, field.attname) is not None:
                        assert getattr(obj, field.name) is not None
            ct = ContentType.objects.get(app_label=label, model=name.lower())
            assert ct.pk == old_types[name], name  # relabelled, not replaced
            assert not ContentType.objects.filter(app_label="commerce", model=name.lower()).exists()
            assert ct.model_class() is model
            actions = ("add", "change", "delete", "view") + (("export",) if name in newcomers else ())
            assert sorted(Permission.objects.filter(content_type=ct).values_list("codename", flat=True)) == sorted(
                f"{a}_{name.lower()}" for a in actions)
            assert LogEntry.objects.filter(content_type=ct, object_repr=name).count() == 1
    out = io.StringIO()
    call_command("makemigrations", "--check", "--dry-run", stdout=out)
    assert "No changes detected" in out.getvalue()
