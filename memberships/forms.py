"""Forms for the memberships pages: plans, rewards and pass products (dashboard), member search."""
from decimal import Decimal

from django import forms
from django.conf import settings
from django.core.validators import RegexValidator
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from .models import Membership, MembershipPlan, Reward

CURRENCY = RegexValidator(r"^[A-Za-z]{3}$", _("Use a three-letter currency code like EUR."))


def _money(label=None, help_text=""):
    return forms.DecimalField(label=_("Price") if label is None else label, max_digits=10, decimal_places=2,
                              min_value=Decimal("0.50"),
                              help_text=help_text,
                              error_messages={"min_value": _("The price must be at least 0.50.")},
                              widget=forms.NumberInput(attrs={"step": "0.01", "inputmode": "decimal"}))


def _currency():
    return forms.CharField(label=_("Currency"), min_length=3, max_length=3, validators=[CURRENCY],
                           initial=settings.DEFAULT_CURRENCY,
                           widget=forms.TextInput(attrs={"autocapitalize": "characters", "autocomplete": "off"}))


class _Upper:
    def clean_currency(self):
        return self.cleaned_data["currency"].upper()


class PlanForm(_Upper, forms.Form):
    name = forms.CharField(label=_("Name"), max_length=80, help_text=_("What fans join, e.g. “Night Owls Club”."))
    description = forms.CharField(label=_("Description"), max_length=4000, required=False,
                                  widget=forms.Textarea(attrs={"rows": 4}),
                                  help_text=_("A few lines about what members get."))
    price = _money(help_text=_("Charged every month or every year."))
    currency = _currency()
    interval = forms.ChoiceField(choices=MembershipPlan.Interval.choices, widget=forms.RadioSelect,
                                 label=_("Billing"), initial=MembershipPlan.Interval.MONTH)
    early_access_hours = forms.IntegerField(min_value=0, max_value=24 * 90, initial=0,
                                            label=_("Early access (hours)"),
                                            error_messages={"min_value": _("0 or more hours."),
                                                            "max_value": _("At most 2160 hours (90 days).")},
                                            help_text=_("Members may buy tickets and drops this many hours before "
                                                        "everyone. 0 for none."))
    discount_percent = forms.DecimalField(min_value=0, max_value=100, max_digits=5, decimal_places=2, initial=0,
                                          label=_("Member discount (%)"),
                                          error_messages={"min_value": _("Between 0 and 100."),
                                                          "max_value": _("Between 0 and 100.")},
                                          help_text=_("Off ticket prices for members, from 0 to 100."),
                                          widget=forms.NumberInput(attrs={"step": "0.01", "inputmode": "decimal"}))
    members_only_events = forms.BooleanField(required=False, label=_("Members-only shows"),
                                             help_text=_("Members see and buy events marked members-only."))
    clip_access = forms.BooleanField(required=False, label=_("Members’ clips"),
                                     help_text=_("Members watch clips marked for members, free."))
    replay_access = forms.BooleanField(required=False, label=_("Replays included"),
                                       help_text=_("Members watch paid replays and priced clips without buying them."))

    @staticmethod
    def initial_for(plan: MembershipPlan) -> dict:
        return {f: getattr(plan, f) for f in ("name", "description", "price", "currency", "interval",
                                               "early_access_hours", "discount_percent", "members_only_events",
                                               "clip_access", "replay_access")}


class RewardForm(forms.Form):
    name = forms.CharField(label=_("Name"), max_length=80)
    kind = forms.ChoiceField(label=_("Kind"), choices=Reward.Kind.choices, widget=forms.RadioSelect,
                             initial=Reward.Kind.DISCOUNT_CODE)
    description = forms.CharField(label=_("Description"), max_length=280, required=False,
                                  widget=forms.Textarea(attrs={"rows": 3}),
                                  help_text=_("What the fan gets and how to use it."))
    cost_points = forms.IntegerField(min_value=1, max_value=10_000_000, label=_("Cost (points)"))
    stock = forms.IntegerField(label=_("Stock"), min_value=0, max_value=1_000_000,
                               help_text=_("How many fans can still redeem it."))
    discount_percent = forms.DecimalField(min_value=1, max_value=100, max_digits=5, decimal_places=2, required=False,
                                          label=_("Percent off"),
                                          help_text=_("Discount codes only: percent off one ticket order (1–100)."),
                                          widget=forms.NumberInput(attrs={"step": "1", "inputmode": "decimal"}))
    is_active = forms.BooleanField(required=False, initial=True, label=_("Fans can redeem it now"))

    def clean(self):
        data = super().clean()
        if data.get("kind") == Reward.Kind.DISCOUNT_CODE and data.get("discount_percent") is None \
                and "discount_percent" not in self.errors:
            self.add_error("discount_percent", gettext("A discount code needs its percent off (1–100)."))
        return data

    @staticmethod
    def initial_for(reward: Reward) -> dict:
        return {f: getattr(reward, f) for f in ("name", "kind", "description", "cost_points", "stock",
                                                "discount_percent", "is_active")}


class PassProductForm(_Upper, forms.Form):
    name = forms.CharField(label=_("Name"), max_length=80, help_text=_("e.g. “5-show pass”."))
    credits = forms.IntegerField(min_value=1, max_value=100, label=_("Shows (credits)"),
                                 help_text=_("Each credit pays for one ticket."))
    price = _money()
    currency = _currency()
    valid_days = forms.IntegerField(min_value=1, max_value=1825, initial=365, label=_("Valid for (days)"),
                                    help_text=_("From the day it is bought."))
    is_active = forms.BooleanField(required=False, initial=True, label=_("On sale"))

    @staticmethod
    def initial_for(product) -> dict:
        return {f: getattr(product, f) for f in ("name", "credits", "price", "currency", "valid_days", "is_active")}


class MemberSearchForm(forms.Form):
    q = forms.CharField(max_length=120, required=False, label=_("Search members"),
                        widget=forms.TextInput(attrs={"type": "search", "placeholder": _("Email or name")}))
    status = forms.ChoiceField(label=_("Status"), required=False,
                               choices=[("", _("Every status")), *Membership.Status.choices])


class PromoCodeForm(forms.Form):
    """A creator's promo or partner code; the service checks the rules and the items (it is the one truth)."""

    code = forms.CharField(label=_("Code"), max_length=32,
                           help_text=_("What buyers type, e.g. SPRING10 (letters, digits, - and _)."))
    kind = forms.ChoiceField(label=_("Kind"), choices=[("promo", _("Promotion")), ("partner", _("Partner code"))],
                             initial="promo", widget=forms.RadioSelect)
    partner = forms.CharField(label=_("Partner"), max_length=80, required=False,
                              help_text=_("Partner codes: whose code this is."))
    percent_off = forms.DecimalField(min_value=Decimal("0.01"), max_value=100, max_digits=5, decimal_places=2,
                                     required=False, label=_("Percent off"),
                                     widget=forms.NumberInput(attrs={"step": "1", "inputmode": "decimal"}))
    amount_off = forms.DecimalField(min_value=Decimal("0.01"), max_digits=10, decimal_places=2, required=False,
                                    label=_("Or amount off each ticket or item"),
                                    widget=forms.NumberInput(attrs={"step": "0.01", "inputmode": "decimal"}))
    currency = forms.CharField(label=_("Currency"), max_length=3, required=False,
                               help_text=_("For an amount off, e.g. EUR."))
    max_uses = forms.IntegerField(min_value=1, max_value=1_000_000, required=False,
                                  label=_("Orders it may be used for"),
                                  help_text=_("Empty for no limit; 1 for a single-use code."))
    valid_from = forms.DateTimeField(required=False, label=_("Valid from"),
                                     widget=forms.DateTimeInput(attrs={"type": "datetime-local"}))
    valid_until = forms.DateTimeField(required=False, label=_("Valid until"),
                                      widget=forms.DateTimeInput(attrs={"type": "datetime-local"}))
    tier_ids = forms.MultipleChoiceField(required=False, label=_("Only these ticket tiers"),
                                         widget=forms.CheckboxSelectMultiple)
    product_ids = forms.MultipleChoiceField(required=False, label=_("Only these products"),
                                            widget=forms.CheckboxSelectMultiple)

    def __init__(self, *args, tiers=(), products=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["tier_ids"].choices = list(tiers)
        self.fields["product_ids"].choices = list(products)
