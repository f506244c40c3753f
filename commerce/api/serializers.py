"""Serializers for orders (API.md "Orders"): what a buyer asks for and what an order looks like."""
from django.utils.translation import gettext as _

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from commerce.services import MAX_LINES, MAX_QUANTITY
from microstage.api.fields import AwareDateTimeField, CopiedFields, copied

# A line names what it buys by one of these fields; each maps to a sellable kind, registered by the
# app that sells it at start-up: "ticket", "drop" and "bundle" by events, "product" by commerce, "pass" by
# memberships, "replay" and "clip" by streaming (commerce.sellables.register).
LINE_FIELDS = {"tier": "ticket", "drop": "drop", "product": "product", "pass_product": "pass", "bundle": "bundle",
               "variant": "product", "replay": "replay", "clip": "clip"}
# How a line is paid beyond money (kept on the line as its options, read by the selling app's offer):
# a pass's id, or a reward's discount code. Only ticket lines take them.
OPTION_FIELDS = ("pass", "code")
OPTION_KINDS = ("ticket",)
KIND_FIELDS = {kind: name for name, kind in LINE_FIELDS.items() if name != "variant"}
MAX_ID_CHARS = 40


# "pass" is a Python keyword, so it cannot be declared as a class attribute: LineInSerializer adds it.
PASS_FIELD = serializers.CharField(max_length=MAX_ID_CHARS, required=False,
                                   help_text="Pay this ticket line with the buyer's pass.")


# The order's serializers in and out are on every sale's path: their fields are copied, not rebuilt.
class LineInSerializer(CopiedFields, serializers.Serializer):
    tier = serializers.CharField(max_length=MAX_ID_CHARS, required=False)
    drop = serializers.CharField(max_length=MAX_ID_CHARS, required=False)
    product = serializers.CharField(max_length=MAX_ID_CHARS, required=False)
    pass_product = serializers.CharField(max_length=MAX_ID_CHARS, required=False,
                                         help_text="Buy a pass (punch card) of a creator.")
    bundle = serializers.CharField(max_length=MAX_ID_CHARS, required=False,
                                   help_text="A bundle: tickets, goods and store credit as one line.")
    variant = serializers.CharField(max_length=MAX_ID_CHARS, required=False,
                                    help_text="A product's variant (sold as the product).")
    replay = serializers.CharField(max_length=MAX_ID_CHARS, required=False,
                                   help_text="Buy an event's replay alone (the event's id).")
    clip = serializers.CharField(max_length=MAX_ID_CHARS, required=False, help_text="Buy a priced clip alone.")
    quantity = serializers.IntegerField(min_value=1, max_value=MAX_QUANTITY)
    code = serializers.CharField(max_length=MAX_ID_CHARS, required=False,
                                 help_text="A discount code from the buyer's rewards (ticket lines).")

    def get_fields(self):
        return {**super().get_fields(), "pass": copied(PASS_FIELD)}

    def validate(self, attrs):
        named = [name for name in LINE_FIELDS if name in attrs]
        if len(named) != 1:
            raise serializers.ValidationError(_("Name exactly one of tier, drop, product, variant, bundle, "
                                              "pass_product, replay or clip."))
        attrs["field"] = named[0]
        attrs["kind"] = LINE_FIELDS[named[0]]
        attrs["item_id"] = attrs[named[0]]
        options = tuple((name, attrs[name].strip()) for name in OPTION_FIELDS if name in attrs)
        if len(options) > 1:
            raise serializers.ValidationError({"code": [_("Use a pass or a code, not both.")]})
        if options and attrs["kind"] not in OPTION_KINDS:
            raise serializers.ValidationError({options[0][0]: [_("Only ticket lines take a pass or a code.")]})
        if options and not options[0][1]:
            raise serializers.ValidationError({options[0][0]: [_("This field may not be blank.")]})
        attrs["options"] = options
        return attrs


class OrderInSerializer(CopiedFields, serializers.Serializer):
    lines = LineInSerializer(many=True, min_length=1, max_length=MAX_LINES)
    email = serializers.EmailField(max_length=254, required=False, allow_blank=True)


class RefundInSerializer(serializers.Serializer):
    lines = serializers.ListField(child=serializers.CharField(max_length=MAX_ID_CHARS), min_length=1,
                                  max_length=MAX_LINES * 5, required=False,
                                  help_text="Ids of the order lines to refund; all of them when left out.")
    reason = serializers.CharField(max_length=255, required=False, allow_blank=True, default="")


class LineOutSerializer(CopiedFields, serializers.Serializer):
    id = serializers.CharField()
    kind = serializers.CharField()
    tier = serializers.SerializerMethodField()
    item = serializers.CharField(source="item_id")
    description = serializers.CharField()
    quantity = serializers.IntegerField()
    refunded_quantity = serializers.IntegerField()
    unit_price = serializers.DecimalField(max_digits=10, decimal_places=2)
    list_price = serializers.DecimalField(max_digits=10, decimal_places=2)
    total = serializers.DecimalField(max_digits=12, decimal_places=2)
    options = serializers.DictField(child=serializers.CharField(), help_text="How the line is paid beyond money "
                                    "(pass, code).")

    def get_tier(self, line) -> str | None:
        return line.item_id if line.kind == LINE_FIELDS["tier"] else None

    def to_representation(self, line):
        data = super().to_representation(line)
        field = KIND_FIELDS.get(line.kind)
        if field and field != "tier":
            data[field] = line.item_id
        return data


class PaymentOutSerializer(serializers.Serializer):
    provider = serializers.CharField()
    checkout_url = serializers.CharField()


class PaymentStateSerializer(serializers.Serializer):
    id = serializers.CharField()
    provider = serializers.CharField()
    status = serializers.CharField()


class OrderSerializer(CopiedFields, serializers.Serializer):
    id = serializers.CharField()
    status = serializers.CharField()
    creator = serializers.CharField(source="creator_id")
    email = serializers.EmailField()
    expires_at = AwareDateTimeField()
    currency = serializers.CharField()
    subtotal = serializers.DecimalField(max_digits=12, decimal_places=2)
    discount = serializers.DecimalField(max_digits=12, decimal_places=2)
    total = serializers.DecimalField(max_digits=12, decimal_places=2)
    refunded_total = serializers.DecimalField(max_digits=12, decimal_places=2)
    credit_used = serializers.DecimalField(max_digits=12, decimal_places=2,
                                           help_text="Store credit with the creator spent on this order.")
    created_at = AwareDateTimeField()
    paid_at = AwareDateTimeField(allow_null=True)
    cancelled_at = AwareDateTimeField(allow_null=True)
    note = serializers.CharField()
    lines = LineOutSerializer(many=True)
    payment = serializers.SerializerMethodField()

    @extend_schema_field(PaymentStateSerializer(allow_null=True))
    def get_payment(self, order):
        return PaymentStateSerializer(order.payment).data if order.payment_id else None


class CheckoutOutSerializer(serializers.Serializer):
    id = serializers.CharField()
    status = serializers.CharField()
    total = serializers.DecimalField(max_digits=12, decimal_places=2)
    currency = serializers.CharField()
    payment = PaymentOutSerializer(required=False)


class OrderStatusSerializer(serializers.Serializer):
    id = serializers.CharField()
    status = serializers.CharField()
    total = serializers.DecimalField(max_digits=12, decimal_places=2)
    refunded_total = serializers.DecimalField(max_digits=12, decimal_places=2)
    currency = serializers.CharField()


class CreditQuerySerializer(serializers.Serializer):
    creator = serializers.CharField(max_length=60, help_text="The creator's id (or slug).")
    currency = serializers.RegexField(r"^[A-Za-z]{3}$", required=False, help_text="ISO 4217; the one held by default.")


class CreditOutSerializer(serializers.Serializer):
    creator = serializers.CharField()
    balance = serializers.DecimalField(max_digits=12, decimal_places=2)
    currency = serializers.CharField()
