"""Plans (micro-subscriptions), memberships, passes (punch cards), loyalty points, referrals and rewards."""
from decimal import Decimal

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import F, Q
from django.utils.translation import gettext_lazy as _

from microstage.ids import IdFactory, PublicIdField
from microstage.models import Creator


class MembershipPlan(models.Model):
    """What a fan pays a creator monthly or yearly, and the perks it brings."""

    class Interval(models.TextChoices):
        MONTH = "month", _("Monthly")
        YEAR = "year", _("Yearly")

    id = PublicIdField("plan")
    creator = models.ForeignKey(Creator, on_delete=models.CASCADE, related_name="plans")
    name = models.CharField(max_length=80)
    description = models.TextField(blank=True, max_length=4000)
    price = models.DecimalField(max_digits=10, decimal_places=2, validators=[MinValueValidator(Decimal("0.50"))])
    currency = models.CharField(max_length=3)
    interval = models.CharField(max_length=8, choices=Interval.choices, default=Interval.MONTH)
    early_access_hours = models.PositiveIntegerField(default=0, validators=[MaxValueValidator(24 * 90)],
                                                     help_text=_("Members may buy this many hours before everyone."))
    discount_percent = models.DecimalField(max_digits=5, decimal_places=2, default=Decimal("0"),
                                           validators=[MinValueValidator(0), MaxValueValidator(100)])
    members_only_events = models.BooleanField(default=False, help_text=_("Members see and buy members-only events."))
    clip_access = models.BooleanField(default=False, help_text=_("Members watch clips marked for members."))
    replay_access = models.BooleanField(default=False, help_text=_("Members watch the creator's paid replays and "
                                        "priced clips without buying them."))
    is_active = models.BooleanField(default=True, help_text=_("Inactive plans take no new members."))
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["creator", "price"]
        constraints = [
            models.CheckConstraint(condition=Q(price__gt=0), name="plan_price_positive"),
            models.CheckConstraint(condition=Q(discount_percent__gte=0) & Q(discount_percent__lte=100),
                                   name="plan_discount_0_100"),
        ]

    def __str__(self):
        return f"{self.creator} — {self.name}"

    @property
    def perks(self) -> dict:
        return {"early_access_hours": self.early_access_hours, "discount_percent": str(self.discount_percent),
                "members_only_events": self.members_only_events, "clip_access": self.clip_access,
                "replay_access": self.replay_access}


class Membership(models.Model):
    """A fan's subscription to a plan. Its status follows the payment provider."""

    class Status(models.TextChoices):
        PENDING = "pending", _("Awaiting first payment")
        ACTIVE = "active", _("Active")
        PAST_DUE = "past_due", _("Past due")
        CANCELLED = "cancelled", _("Cancelled (runs to period end)")
        ENDED = "ended", _("Ended")

    # Statuses in which the perks apply (a past-due member keeps perks during the provider's retries).
    GOOD_STANDING = (Status.ACTIVE, Status.PAST_DUE, Status.CANCELLED)

    id = PublicIdField("mem")
    plan = models.ForeignKey(MembershipPlan, on_delete=models.PROTECT, related_name="memberships")
    creator = models.ForeignKey(Creator, on_delete=models.CASCADE, related_name="memberships")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="memberships")
    status = models.CharField(max_length=12, choices=Status.choices, default=Status.PENDING, db_index=True)
    provider = models.CharField(max_length=16, blank=True)
    subscription = models.CharField(max_length=255, blank=True, help_text=_("Provider subscription id."))
    current_period_end = models.DateTimeField(null=True, blank=True)
    cancel_at_period_end = models.BooleanField(default=False)
    started_at = models.DateTimeField(null=True, blank=True)
    ended_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-created_at"]
        indexes = [models.Index(fields=["user", "creator", "status"], name="membership_lookup_idx")]
        constraints = [
            # One live membership per fan and creator: switching plans ends the old one first.
            models.UniqueConstraint(fields=["user", "creator"],
                                    condition=Q(status__in=["pending", "active", "past_due", "cancelled"]),
                                    name="one_live_membership_per_creator"),
        ]

    def __str__(self):
        return f"{self.user} → {self.plan} ({self.get_status_display()})"


class Pass(models.Model):
    """A punch card: N event credits bought once, redeemed instead of paying for a ticket."""

    id = PublicIdField("pass")
    creator = models.ForeignKey(Creator, on_delete=models.CASCADE, related_name="passes")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="passes")
    product = models.ForeignKey("PassProduct", on_delete=models.PROTECT, related_name="passes")
    credits_total = models.PositiveIntegerField()
    credits_left = models.PositiveIntegerField()
    expires_at = models.DateTimeField()
    order_line_id = models.CharField(max_length=40, unique=True, help_text=_("The order line that paid for it."))
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["expires_at"]
        verbose_name_plural = _("passes")
        constraints = [models.CheckConstraint(condition=Q(credits_left__lte=F("credits_total")),
                                              name="pass_credits_within_total")]

    def __str__(self):
        return f"{self.product.name}: {self.credits_left}/{self.credits_total} left"


class PassProduct(models.Model):
    """A punch card a creator sells: so many credits, valid so many days."""

    id = PublicIdField("pp")
    creator = models.ForeignKey(Creator, on_delete=models.CASCADE, related_name="pass_products")
    name = models.CharField(max_length=80)
    credits = models.PositiveIntegerField(validators=[MinValueValidator(1), MaxValueValidator(100)])
    price = models.DecimalField(max_digits=10, decimal_places=2, validators=[MinValueValidator(Decimal("0.50"))])
    currency = models.CharField(max_length=3)
    valid_days = models.PositiveIntegerField(default=365, validators=[MinValueValidator(1), MaxValueValidator(1825)])
    is_active = models.BooleanField(default=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["creator", "price"]

    def __str__(self):
        return f"{self.name} ({self.credits} credits)"


class PassRedemption(models.Model):
    """One credit spent on one ticket line; refunding the ticket gives the credit back."""

    pass_obj = models.ForeignKey(Pass, on_delete=models.CASCADE, related_name="redemptions", db_column="pass_id")
    order_line_id = models.CharField(max_length=40, unique=True)
    created_at = models.DateTimeField(auto_now_add=True)
    returned_at = models.DateTimeField(null=True, blank=True)

    def __str__(self):
        return f"credit of {self.pass_obj_id} for {self.order_line_id}"


class LoyaltyAccount(models.Model):
    """A fan's points with one creator. The balance is the sum of the ledger, kept here to lock on."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="loyalty_accounts")
    creator = models.ForeignKey(Creator, on_delete=models.CASCADE, related_name="loyalty_accounts")
    balance = models.IntegerField(default=0)
    referral_code = models.CharField(max_length=32, unique=True, default=IdFactory("ref"))

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["user", "creator"], name="one_loyalty_account"),
            models.CheckConstraint(condition=Q(balance__gte=0), name="loyalty_balance_not_negative"),
        ]

    def __str__(self):
        return f"{self.user} @ {self.creator}: {self.balance} points"


class LoyaltyEntry(models.Model):
    """Append-only: points earned (+) or spent (−). `key` makes each award happen once."""

    class Reason(models.TextChoices):
        ATTENDANCE = "attendance", _("Attended a show")
        PURCHASE = "purchase", _("Purchase")
        REFERRAL = "referral", _("Referred a fan")
        REDEMPTION = "redemption", _("Redeemed a reward")
        ADJUSTMENT = "adjustment", _("Adjustment")
        REVERSAL = "reversal", _("Reversed (refund or chargeback)")

    account = models.ForeignKey(LoyaltyAccount, on_delete=models.CASCADE, related_name="entries")
    points = models.IntegerField()
    reason = models.CharField(max_length=16, choices=Reason.choices)
    key = models.CharField(max_length=120, unique=True, help_text=_("Idempotency key, e.g. checkin:tkt_…"))
    note = models.CharField(max_length=200, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name_plural = _("loyalty entries")

    def __str__(self):
        return f"{self.points:+d} {self.get_reason_display()}"


class Referral(models.Model):
    """Fan B signed up through fan A's referral link for a creator; A earns points when B's first paid
    order reaches the minimum (memberships.referrals), and loses them if that order is refunded."""

    class Status(models.TextChoices):
        PENDING = "pending", _("Waiting for a first paid order")
        REWARDED = "rewarded", _("Rewarded")
        NOT_ELIGIBLE = "not_eligible", _("First paid order below the minimum")
        REVERSED = "reversed", _("Reversed (order refunded)")

    creator = models.ForeignKey(Creator, on_delete=models.CASCADE, related_name="referrals")
    referrer = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="referrals_made")
    referred = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="referred_by")
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.PENDING)
    order_id = models.CharField(max_length=40, blank=True, help_text=_("The first paid order that decided it."))
    rewarded_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["creator", "referred"], name="one_referrer_per_fan")]

    def __str__(self):
        return f"{self.referrer} referred {self.referred} to {self.creator}"


class Reward(models.Model):
    """Something a creator offers for points, with its own stock."""

    class Kind(models.TextChoices):
        DISCOUNT_CODE = "discount_code", _("Discount code")
        BACKSTAGE_UPGRADE = "backstage_upgrade", _("Backstage upgrade")
        FREE_ITEM = "free_item", _("Free item")

    id = PublicIdField("rwd")
    creator = models.ForeignKey(Creator, on_delete=models.CASCADE, related_name="rewards")
    name = models.CharField(max_length=80)
    description = models.CharField(max_length=280, blank=True)
    kind = models.CharField(max_length=20, choices=Kind.choices)
    cost_points = models.PositiveIntegerField(validators=[MinValueValidator(1)])
    stock = models.PositiveIntegerField(help_text=_("How many can still be redeemed."))
    discount_percent = models.DecimalField(max_digits=5, decimal_places=2, null=True, blank=True,
                                           validators=[MinValueValidator(1), MaxValueValidator(100)],
                                           help_text=_("For discount codes: percent off one ticket order."))
    is_active = models.BooleanField(default=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["creator", "cost_points"]

    def __str__(self):
        return f"{self.name} ({self.cost_points} points)"


class RewardRedemption(models.Model):
    """A reward a fan took: a code to use at checkout or to show the creator's team."""

    class Status(models.TextChoices):
        ISSUED = "issued", _("Issued")
        USED = "used", _("Used")

    id = PublicIdField("rdm")
    reward = models.ForeignKey(Reward, on_delete=models.PROTECT, related_name="redemptions")
    account = models.ForeignKey(LoyaltyAccount, on_delete=models.CASCADE, related_name="redemptions")
    code = models.CharField(max_length=32, unique=True, default=IdFactory("MS"))
    status = models.CharField(max_length=8, choices=Status.choices, default=Status.ISSUED)
    created_at = models.DateTimeField(auto_now_add=True)
    used_at = models.DateTimeField(null=True, blank=True)

    def __str__(self):
        return f"{self.code} — {self.reward}"


class PromoCode(models.Model):
    """A code a creator hands out (a promotion, or a partner's code): percent or amount off tickets and
    goods, limited in uses, dates, tiers and products. Typed by buyers like a reward's discount code."""

    class Kind(models.TextChoices):
        PROMO = "promo", _("Promotion")
        PARTNER = "partner", _("Partner")

    id = PublicIdField("promo")
    creator = models.ForeignKey(Creator, on_delete=models.CASCADE, related_name="promo_codes")
    code = models.CharField(max_length=32,
                            help_text=_("What buyers type; letters, digits, - and _ (stored upper-case)."))
    kind = models.CharField(max_length=8, choices=Kind.choices, default=Kind.PROMO)
    partner = models.CharField(max_length=80, blank=True, help_text=_("Who a partner code belongs to."))
    percent_off = models.DecimalField(max_digits=5, decimal_places=2, null=True, blank=True,
                                      validators=[MinValueValidator(Decimal("0.01")), MaxValueValidator(100)])
    amount_off = models.DecimalField(max_digits=10, decimal_places=2, null=True, blank=True,
                                     validators=[MinValueValidator(Decimal("0.01"))],
                                     help_text=_("Off each ticket or item, in `currency`."))
    currency = models.CharField(max_length=3, blank=True)
    max_uses = models.PositiveIntegerField(null=True, blank=True, validators=[MinValueValidator(1)],
                                           help_text=_("How many orders may use it; empty for no limit."))
    valid_from = models.DateTimeField(null=True, blank=True)
    valid_until = models.DateTimeField(null=True, blank=True)
    tier_ids = models.JSONField(default=list, blank=True, help_text=_("Only these ticket tiers (empty: any)."))
    product_ids = models.JSONField(default=list, blank=True, help_text=_("Only these products (empty: any)."))
    is_active = models.BooleanField(default=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["creator", "-created_at"]
        constraints = [
            models.UniqueConstraint(fields=["creator", "code"], name="promo_code_unique_per_creator"),
            models.CheckConstraint(condition=(Q(percent_off__isnull=False) & Q(amount_off__isnull=True))
                                   | (Q(percent_off__isnull=True) & Q(amount_off__isnull=False)),
                                   name="promo_code_percent_xor_amount"),
        ]

    def __str__(self):
        return f"{self.code} ({self.creator})"


class PromoCodeUse(models.Model):
    """One paid order that used a promo code; the code's usage limit counts these (once per order)."""

    promo = models.ForeignKey(PromoCode, on_delete=models.CASCADE, related_name="uses")
    order_id = models.CharField(max_length=40)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["promo", "order_id"], name="promo_use_once_per_order")]

    def __str__(self):
        return f"{self.promo.code} on {self.order_id}"
