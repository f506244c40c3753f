"""Serializers with CopiedFields (microstage/api/fields.py) give each instance copies of the declared
fields instead of rebuilding them, and validate and render exactly as DRF's deep copies do."""
import copy
import threading
from decimal import Decimal
from unittest import mock

import pytest
from rest_framework import serializers

from commerce.api import serializers as orders
from microstage.api.fields import copied


def _rebuilt(cls, **extra):
    """The same serializer with its fields rebuilt by DRF's own deep copy for every instance."""
    class Rebuilt(cls):
        def get_fields(self):
            return {**serializers.Serializer.get_fields(self), **copy.deepcopy(extra)}

    return Rebuilt


class RebuiltOrderIn(_rebuilt(orders.OrderInSerializer)):
    lines = _rebuilt(orders.LineInSerializer, **{"pass": orders.PASS_FIELD})(many=True, min_length=1,
                                                                             max_length=orders.MAX_LINES)


BODIES = [
    {"lines": [{"tier": "tier_abc", "quantity": 1}]},
    {"lines": [{"tier": "tier_abc", "quantity": 2, "pass": " pass_1 "}, {"drop": "drop_x", "quantity": 3}],
     "email": "Ada@Example.com"},
    {"lines": [{"tier": "x" * 41, "quantity": 0, "pass": ""}], "email": "nope"},
    {"lines": [{"tier": "tier_abc", "drop": "drop_x", "quantity": 1}]},
    {"lines": [{"tier": "tier_abc", "quantity": 1, "pass": "p", "code": "c"}]},
    {"lines": [{"product": "prod_1", "quantity": 1, "code": "MS_1"}]},
    {"lines": [{"tier": None, "quantity": "1"}]},
    {"lines": []},
    {"lines": "tier_abc"},
    {"lines": [{"tier": "t", "quantity": 1}] * 21},
    {},
    [],
]


@pytest.mark.parametrize("body", BODIES)
def test_orders_validate_as_with_rebuilt_fields(body):
    ours, theirs = orders.OrderInSerializer(data=body), RebuiltOrderIn(data=body)
    assert ours.is_valid() == theirs.is_valid()
    assert ours.errors == theirs.errors
    if not ours.errors:
        assert ours.validated_data == theirs.validated_data


def test_no_plain_field_is_rebuilt_per_instance():
    """What made the copies cheap: a CharField's constructor (and its validators) runs only for
    fields that hold another field, never for the plain ones, however many instances there are."""
    body = {"lines": [{"tier": "tier_abc", "quantity": 1}]}
    orders.OrderInSerializer(data=body).is_valid()  # the class-level prototypes exist already
    with mock.patch.object(serializers.CharField, "__init__", side_effect=AssertionError("rebuilt")), \
            mock.patch.object(serializers.IntegerField, "__init__", side_effect=AssertionError("rebuilt")):
        for _ in range(3):
            serializer = orders.OrderInSerializer(data=body)
            assert serializer.is_valid(), serializer.errors


def test_each_instance_has_its_own_bound_copies_and_the_declared_fields_stay_unbound():
    one, two = orders.OrderInSerializer(data={}), orders.OrderInSerializer(data={})
    assert one.fields["email"] is not two.fields["email"]
    assert one.fields["email"].parent is one and two.fields["email"].parent is two
    assert one.fields["email"].field_name == "email"
    line_one, line_two = one.fields["lines"].child, two.fields["lines"].child
    assert line_one is not line_two and line_one.fields["tier"] is not line_two.fields["tier"]
    assert line_one.fields["tier"].parent is line_one and line_one.fields["pass"].parent is line_one
    for declared in [*orders.LineInSerializer._declared_fields.values(), orders.PASS_FIELD,
                     *orders.OrderInSerializer._declared_fields.values()]:
        assert declared.parent is None and declared.field_name is None


def test_fields_holding_a_field_are_deep_copied():
    field = serializers.DictField(child=serializers.CharField())
    twin = copied(field)
    assert twin is not field and twin.child is not field.child and twin.child.parent is twin
    plain = serializers.CharField(max_length=3)
    twin = copied(plain)
    assert twin is not plain and type(twin) is serializers.CharField and twin.max_length == 3
    with pytest.raises(serializers.ValidationError):
        twin.run_validation("long")


def test_an_order_renders_as_with_rebuilt_fields():
    line = mock.Mock(id="line_1", kind="drop", item_id="drop_x", description="Poster", quantity=2,
                     refunded_quantity=0, unit_price=Decimal("5.00"), list_price=Decimal("6.00"),
                     total=Decimal("10.00"), options={"code": "MS_1"})
    rebuilt = _rebuilt(orders.LineOutSerializer)
    assert orders.LineOutSerializer(line).data == rebuilt(line).data
    assert orders.LineOutSerializer(line).data["drop"] == "drop_x"


def test_copies_validate_side_by_side_in_threads():
    errors = []

    def buyer(n: int) -> None:
        for i in range(200):
            body = {"lines": [{"tier": f"tier_{n}_{i}", "quantity": 1 + (i % 5)}]}
            serializer = orders.OrderInSerializer(data=body)
            if not serializer.is_valid() or serializer.validated_data["lines"][0]["item_id"] != f"tier_{n}_{i}":
                errors.append((n, i, serializer.errors))
            bad = orders.OrderInSerializer(data={"lines": [{"tier": f"tier_{n}", "quantity": 0}]})
            if bad.is_valid() or "quantity" not in bad.errors["lines"][0]:
                errors.append((n, i, "accepted"))

    threads = [threading.Thread(target=buyer, args=(n,)) for n in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []



def test_the_openapi_schema_is_unchanged_by_the_mixin():
    """drf-spectacular describes a serializer by the first docstring in its class hierarchy: the mixin
    must not lend its own to the order's components, and the "pass" field is still documented."""
    from drf_spectacular.generators import SchemaGenerator

    components = SchemaGenerator().get_schema(request=None, public=True)["components"]["schemas"]
    for name in ("LineInRequest", "OrderInRequest", "LineOut", "Order"):
        assert "description" not in components[name], name
    assert components["LineInRequest"]["properties"]["pass"]["description"] == \
        "Pay this ticket line with the buyer's pass."
