"""Products (physical merch or a digital file) and their variants (rules in catalog/services.py). The tables
kept the names they had in commerce."""
from decimal import Decimal

from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from microstage.ids import PublicIdField
from microstage.models import Creator
from microstage.uploads import PrivateFileField, SafeImageField


class Product(models.Model):
    """Something a creator sells beyond tickets: physical merch or a digital file."""

    class Kind(models.TextChoices):
        PHYSICAL = "physical", _("Physical")
        DIGITAL = "digital", _("Digital")

    id = PublicIdField("prd")
    creator = models.ForeignKey(Creator, on_delete=models.CASCADE, related_name="products")
    name = models.CharField(max_length=120)
    description = models.TextField(blank=True, max_length=5000)
    kind = models.CharField(max_length=8, choices=Kind.choices, default=Kind.PHYSICAL)
    price = models.DecimalField(max_digits=10, decimal_places=2)
    currency = models.CharField(max_length=3)
    image = SafeImageField(upload_to="creators/products/", blank=True)
    digital_file = PrivateFileField(upload_to="products/files/", blank=True,
                                    help_text=_("For digital products: unlocked by a signed, expiring link."))
    is_active = models.BooleanField(default=True)
    made_to_order = models.BooleanField(default=False, help_text=(
        "Made after it is ordered: a group-buy of it takes no stock. Otherwise a group-buy holds units of the "
        "variant's stock until it settles, like the shop and drops."))
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        db_table = "commerce_product"  # the table kept its name when the model left commerce
        ordering = ["creator", "name"]
        constraints = [models.CheckConstraint(condition=Q(price__gte=0), name="product_price_not_negative")]

    def __str__(self):
        return self.name


DEFAULT_VARIANT = "Default"  # the one variant of a product without sizes or colours


def variant_label(product_name: str, variant_name: str | None = None) -> str:
    """How a variant is named to people everywhere (cart, receipts, till, drops): "Tee — M / black",
    or just "Tee" for a product's only, default variant."""
    return product_name if not variant_name or variant_name == DEFAULT_VARIANT else f"{product_name} — {variant_name}"


class ProductVariant(models.Model):
    """A size or colour of a product, with its own stock (its inventory pool is "variant:<id>")."""

    id = PublicIdField("var")
    product = models.ForeignKey(Product, on_delete=models.CASCADE, related_name="variants")
    name = models.CharField(max_length=60, help_text=_('e.g. "M / black"; "Default" for products without variants.'))
    sku = models.CharField(max_length=60, blank=True)
    price = models.DecimalField(max_digits=10, decimal_places=2, null=True, blank=True,
                                help_text=_("Overrides the product's price when set."))
    stock = models.PositiveIntegerField(default=0, help_text=_("Central stock available to sell online."))
    position = models.PositiveSmallIntegerField(default=0)

    class Meta:
        db_table = "commerce_productvariant"  # the table kept its name when the model left commerce
        ordering = ["product", "position", "name"]

    def __str__(self):
        return f"{self.product.name} — {self.name}"

    @property
    def label(self) -> str:
        return variant_label(self.product.name, self.name)

    @property
    def unit_price(self) -> Decimal:
        return self.price if self.price is not None else self.product.price
