"""Serializers for memberships (API.md "Memberships"): plans, subscribing, my memberships, my loyalty."""
from django.utils.translation import gettext_lazy

from decimal import Decimal

from rest_framework import serializers

from memberships.services import MAX_EARLY_ACCESS_HOURS, MAX_PLAN_PRICE
from microstage.api.fields import AwareDateTimeField

MAX_ID_CHARS = 40


# --- input ------------------------------------------------------------------------------------

class PlanPerksInSerializer(serializers.Serializer):
    early_access_hours = serializers.IntegerField(min_value=0, max_value=MAX_EARLY_ACCESS_HOURS, required=False)
    discount_percent = serializers.DecimalField(max_digits=5, decimal_places=2, min_value=Decimal("0"),
                                                max_value=Decimal("100"), required=False)
    members_only_events = serializers.BooleanField(required=False)
    clip_access = serializers.BooleanField(required=False)
    replays = serializers.BooleanField(required=False, source="replay_access",
                                       help_text="Members watch paid replays and priced clips included.")


class PlanInSerializer(serializers.Serializer):
    creator = serializers.CharField(max_length=MAX_ID_CHARS)
    name = serializers.CharField(max_length=80)
    description = serializers.CharField(max_length=4000, required=False, allow_blank=True)
    price = serializers.DecimalField(max_digits=10, decimal_places=2, min_value=Decimal("0.01"),
                                     max_value=MAX_PLAN_PRICE)
    currency = serializers.RegexField(r"^[A-Za-z]{3}$", required=False,
                                      error_messages={"invalid": gettext_lazy("Use a three-letter ISO 4217 code "
                                                                              "like EUR.")})
    interval = serializers.ChoiceField(choices=["month", "year"], required=False, default="month")
    perks = PlanPerksInSerializer(required=False)


class PlanUpdateSerializer(PlanInSerializer):
    """Any field of a plan, plus whether it takes new members."""

    creator = None
    is_active = serializers.BooleanField(required=False)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, partial=True, **kwargs)


# --- output -----------------------------------------------------------------------------------

class MemberCreatorSerializer(serializers.Serializer):
    id = serializers.CharField()
    slug = serializers.CharField()
    name = serializers.CharField()


class PlanPerksSerializer(serializers.Serializer):
    early_access_hours = serializers.IntegerField()
    discount_percent = serializers.DecimalField(max_digits=5, decimal_places=2)
    members_only_events = serializers.BooleanField()
    clip_access = serializers.BooleanField()
    replays = serializers.BooleanField(source="replay_access")


class MembershipPlanSerializer(serializers.Serializer):
    id = serializers.CharField()
    creator = serializers.CharField(source="creator_id")
    name = serializers.CharField()
    description = serializers.CharField()
    price = serializers.DecimalField(max_digits=10, decimal_places=2)
    currency = serializers.CharField()
    interval = serializers.CharField()
    perks = PlanPerksSerializer(source="*")
    is_active = serializers.BooleanField()
    created_at = AwareDateTimeField()


class MemberPlanSerializer(serializers.Serializer):
    id = serializers.CharField()
    name = serializers.CharField()
    price = serializers.DecimalField(max_digits=10, decimal_places=2)
    currency = serializers.CharField()
    interval = serializers.CharField()


class MembershipSerializer(serializers.Serializer):
    id = serializers.CharField()
    plan = MemberPlanSerializer()
    creator = MemberCreatorSerializer()
    status = serializers.CharField()
    current_period_end = AwareDateTimeField(allow_null=True)
    cancel_at_period_end = serializers.BooleanField()
    started_at = AwareDateTimeField(allow_null=True)
    ended_at = AwareDateTimeField(allow_null=True)
    created_at = AwareDateTimeField()


class SubscribedSerializer(serializers.Serializer):
    status = serializers.ChoiceField(choices=["active", "awaiting_payment"])
    membership = MembershipSerializer()
    checkout_url = serializers.CharField(required=False)


class LoyaltyEntrySerializer(serializers.Serializer):
    id = serializers.IntegerField()
    creator = serializers.CharField(source="account.creator_id")
    points = serializers.IntegerField()
    reason = serializers.CharField()
    note = serializers.CharField()
    created_at = AwareDateTimeField()


class LoyaltyAccountSerializer(serializers.Serializer):
    creator = MemberCreatorSerializer()
    balance = serializers.IntegerField()
    referral_code = serializers.CharField()


class LoyaltySerializer(serializers.Serializer):
    balance = serializers.IntegerField()
    creators = LoyaltyAccountSerializer(many=True, source="accounts")
    entries = LoyaltyEntrySerializer(many=True)
