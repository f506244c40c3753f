"""Products and their variants: create and change them, sell them (the sellable kind "product"), and
deliver the digital ones (signed, expiring download links for a paid line).

Each variant's stock is the inventory pool "variant:<id>" (total = variant.stock, the units ever available
online; sold units stay counted in the pool). Sold in the shop as the sellable kind "product"; a drop of an
event sells the same units under its own kind and pool (events.services), so the variant pool is shared by both.
"""
from decimal import ROUND_HALF_UP, Decimal

from django.conf import settings
from django.db import transaction
from django.utils.translation import gettext

from commerce import gate, holdlimits, inventory, sellables
from commerce.models import Order, OrderLine
from commerce.services import announce
from microstage.errors import Conflict, Forbidden, Invalid, NotFound
from microstage.models import EDIT_ROLES
from microstage.money import parse_amount
from microstage.permissions import require_role

from .models import DEFAULT_VARIANT, variant_label

PRODUCT_KIND = "product"
PRODUCT_MAX_PER_ORDER = 10
PRODUCT_MAX_PRICE = Decimal("100000")
PRODUCT_MAX_STOCK = 1_000_000
PRODUCT_MAX_VARIANTS = 30
PRODUCT_IMAGE_MAX_BYTES = 5 * 1024 * 1024
PRODUCT_IMAGE_MAX_SIDE = 4000
DIGITAL_FILE_MAX_BYTES = 500 * 1024 * 1024
DOWNLOAD_SALT = "commerce.download"
DOWNLOAD_MAX_AGE = 24 * 3600  # seconds a download link works; the order page mints fresh ones
PRODUCT_FIELDS = ("name", "description", "kind", "price", "currency", "image", "digital_file", "is_active",
                  "made_to_order")
VARIANT_FIELDS = ("name", "sku", "price", "stock", "position")


_price_adjusters: list = []


def register_price_adjuster(func) -> None:
    """Apps above say what percent off a buyer gets on a creator's merch right now: (buyer, creator_id) -> Decimal
    (events: a ticket whose tier gives a merch discount during the show)."""
    if func not in _price_adjusters:
        _price_adjusters.append(func)


def merch_price(price: Decimal, buyer, creator_id: str) -> Decimal:
    """`price` after the best merch discount the buyer has with the creator now (half-up to the cent)."""
    percent = max((Decimal(func(buyer, creator_id)) for func in _price_adjusters), default=Decimal("0"))
    if percent <= 0:
        return price
    return (price * (Decimal("100") - min(percent, Decimal("100"))) / 100).quantize(Decimal("0.01"), ROUND_HALF_UP)


def _check_money(price, field: str = "price") -> Decimal:
    return parse_amount(price, field=field, maximum=PRODUCT_MAX_PRICE)


def _check_stock(stock, field: str = "stock") -> int:
    if isinstance(stock, bool) or not isinstance(stock, int) or stock < 0 or stock > PRODUCT_MAX_STOCK:
        raise Invalid(gettext("Stock is a whole number from 0."),
                      fields={field: [gettext("Use a whole number from 0 to %(max)d.") % {"max": PRODUCT_MAX_STOCK}]})
    return stock


def _check_product(product) -> None:
    from .models import Product

    product.name = (product.name or "").strip()
    if not product.name or len(product.name) > 120:
        raise Invalid(gettext("Give the product a name."), fields={"name": [gettext("Use 1 to 120 characters.")]})
    if len(product.description or "") > 5000:
        raise Invalid(gettext("The description is too long."),
                      fields={"description": [gettext("At most 5000 characters.")]})
    if product.kind not in Product.Kind.values:
        raise Invalid(gettext("A product is physical or digital."),
                      fields={"kind": [gettext("Use physical or digital.")]})
    product.price = _check_money(product.price)
    from microstage.currencies import check_for_creator

    product.currency = check_for_creator(product.creator_id, product.currency or settings.DEFAULT_CURRENCY)


def _check_image(upload):
    """The product picture re-encoded by Pillow under a generated name (microstage.uploads)."""
    from microstage.uploads import image_or_invalid

    return image_or_invalid(upload, field="image", max_bytes=PRODUCT_IMAGE_MAX_BYTES,
                            max_side=PRODUCT_IMAGE_MAX_SIDE)


def _check_digital_file(upload) -> None:
    if upload.size > DIGITAL_FILE_MAX_BYTES:
        raise Invalid(gettext("The file is too large."), fields={"digital_file": [gettext("At most 500 MB.")]})


def _check_variant(variant) -> None:
    variant.name = (variant.name or "").strip()
    if not variant.name or len(variant.name) > 60:
        raise Invalid(gettext("Name each variant."),
                      fields={"variants": [gettext("Each variant needs a name of up to 60 characters.")]})
    if len(variant.sku or "") > 60:
        raise Invalid(gettext("The SKU is too long."), fields={"sku": [gettext("At most 60 characters.")]})
    if variant.price is not None:
        variant.price = _check_money(variant.price, "variant price")
    variant.stock = _check_stock(variant.stock)


@transaction.atomic
def create_product(*, creator, name: str, price, kind: str = "physical", currency: str = "", description: str = "",
                   stock: int = 0, image=None, digital_file=None, variants: list[dict] | None = None,
                   actor, made_to_order: bool = False):
    """A new product of `creator` (its owners and managers, or SYSTEM).

    Without `variants` it gets one "Default" variant holding `stock`; with them, each variant
    ({name, sku?, price?, stock}) holds its own stock. Images are checked with Pillow; a digital
    product needs its file before it can be sold (the shop hides it until then).
    """
    from .models import Product, ProductVariant

    require_role(actor, creator, EDIT_ROLES)
    product = Product(creator=creator, name=name, description=description or "", kind=kind, price=price,
                      currency=currency or settings.DEFAULT_CURRENCY, made_to_order=made_to_order is True)
    _check_product(product)
    if image:
        product.image = _check_image(image)
    if digital_file:
        if product.kind != Product.Kind.DIGITAL:
            raise Invalid(gettext("Only digital products carry a file."),
                          fields={"digital_file": [gettext("Make it digital first.")]})
        _check_digital_file(digital_file)
        product.digital_file = digital_file
    if variants is not None and not isinstance(variants, list | tuple):
        raise Invalid(gettext("Variants are a list."), fields={"variants": [gettext("Send a list of variants.")]})
    if variants and len(variants) > PRODUCT_MAX_VARIANTS:
        raise Invalid(gettext("Too many variants."),
                      fields={"variants": [gettext("At most %(max)d.") % {"max": PRODUCT_MAX_VARIANTS}]})
    rows = []
    for position, data in enumerate(variants or [{"name": DEFAULT_VARIANT, "stock": stock}]):
        if not isinstance(data, dict) or set(data) - set(VARIANT_FIELDS):
            raise Invalid(gettext("Unknown variant fields."),
                          fields={"variants": [gettext("Use %(fields)s.") % {"fields": ", ".join(VARIANT_FIELDS)}]})
        variant = ProductVariant(product=product, name=data.get("name", ""), sku=data.get("sku") or "",
                                 price=data.get("price"), stock=data.get("stock", 0), position=position)
        _check_variant(variant)
        rows.append(variant)
    if len({v.name.lower() for v in rows}) != len(rows):
        raise Invalid(gettext("Variant names repeat."),
                      fields={"variants": [gettext("Give each variant its own name.")]})
    product.save()
    for variant in rows:
        variant.save()
    return product


@transaction.atomic
def update_product(product, *, actor, **data):
    """Change a product's details (any of PRODUCT_FIELDS); stock lives on the variants (save_variant)."""
    from .models import Product

    require_role(actor, product.creator_id, EDIT_ROLES)
    product = Product.objects.select_for_update().get(pk=product.pk)
    unknown = set(data) - set(PRODUCT_FIELDS)
    if unknown:
        raise Invalid(gettext("Unknown fields."), fields={k: [gettext("Unknown field.")] for k in sorted(unknown)})
    image, digital_file = data.pop("image", None), data.pop("digital_file", None)
    if "made_to_order" in data and not isinstance(data["made_to_order"], bool):
        raise Invalid("Made to order is yes or no.", fields={"made_to_order": ["Use true or false."]})
    for key, value in data.items():
        setattr(product, key, value)
    _check_product(product)
    if image:
        product.image = _check_image(image)
    if digital_file:
        _check_digital_file(digital_file)
        product.digital_file = digital_file
    if product.digital_file and product.kind != Product.Kind.DIGITAL:
        raise Invalid(gettext("Only digital products carry a file."),
                      fields={"kind": [gettext("This product has a file: keep it digital.")]})
    product.save()
    return product


@transaction.atomic
def save_variant(product, *, variant_id: str | None = None, actor, **data):
    """Add a variant, or change one (its stock never below what is already sold)."""
    from .models import ProductVariant

    require_role(actor, product.creator_id, EDIT_ROLES)
    unknown = set(data) - set(VARIANT_FIELDS)
    if unknown:
        raise Invalid(gettext("Unknown fields."), fields={k: [gettext("Unknown field.")] for k in sorted(unknown)})
    if variant_id:
        variant = ProductVariant.objects.select_for_update().filter(pk=variant_id, product=product).first()
        if variant is None:
            raise NotFound(gettext("No such variant."))
    else:
        if product.variants.count() >= PRODUCT_MAX_VARIANTS:
            raise Invalid(gettext("Too many variants."),
                          fields={"name": [gettext("At most %(max)d.") % {"max": PRODUCT_MAX_VARIANTS}]})
        variant = ProductVariant(product=product, position=product.variants.count())
    for key, value in data.items():
        setattr(variant, key, value)
    _check_variant(variant)
    if product.variants.exclude(pk=variant.pk).filter(name__iexact=variant.name).exists():
        raise Invalid(gettext("Another variant has that name."),
                      fields={"name": [gettext("Give each variant its own name.")]})
    if variant.pk:
        inventory.resize(inventory.variant_key(variant.pk), variant.stock, field="stock",
                         detail="Stock is below what is already sold.")
    variant.save()
    announce([(PRODUCT_KIND, variant.pk, [inventory.variant_key(variant.pk)])])
    return variant


def _product_variant(item_id: str):
    """The variant a line names: a variant id, or a product id when the product has one variant."""
    from .models import ProductVariant

    qs = ProductVariant.objects.select_related("product", "product__creator")
    if item_id.startswith("var_"):
        variant = qs.filter(pk=item_id).first()
    else:
        variants = list(qs.filter(product_id=item_id)[:2])
        if len(variants) > 1:
            raise Invalid(gettext("Choose a variant of this product."),
                          fields={"product": [gettext("Name the variant's id.")]})
        variant = variants[0] if variants else None
    if variant is None or not variant.product.is_active:
        raise NotFound(gettext("No such product."))
    return variant


def product_offer(item_id: str, quantity: int, buyer) -> sellables.Offer:
    from .models import Product

    variant = _product_variant(item_id)
    product = variant.product
    if product.kind == Product.Kind.DIGITAL and not product.digital_file:
        raise Conflict(gettext("This product is not on sale yet."), code="not_on_sale")
    if quantity > PRODUCT_MAX_PER_ORDER:
        raise Conflict(gettext("At most %(max)d of these per order.") % {"max": PRODUCT_MAX_PER_ORDER},
                       code="limit_exceeded",
                       max_per_order=PRODUCT_MAX_PER_ORDER)
    name = variant_label(product.name, variant.name)
    return sellables.Offer(kind=PRODUCT_KIND, item_id=variant.pk, creator_id=product.creator_id, description=name,
                           unit_price=merch_price(variant.unit_price, buyer, product.creator_id),
                           list_price=variant.unit_price, currency=product.currency,
                           pools={inventory.variant_key(variant.pk): variant.stock},
                           limits=holdlimits.personal_hold_limit(inventory.variant_key(variant.pk), buyer,
                                                                 PRODUCT_MAX_PER_ORDER))


def variant_product(line):
    """The product a shop line (a variant) delivers: the product sellable's `product_of_line`."""
    from .models import ProductVariant

    variant = ProductVariant.objects.select_related("product").filter(pk=line.item_id).first()
    return variant.product if variant else None


def download_token(line, user) -> str:
    """A signed, expiring token for the digital file of a paid line, good for its buyer only."""
    from django.core.signing import TimestampSigner

    return TimestampSigner(salt=DOWNLOAD_SALT).sign_object({"l": line.pk, "u": user.pk}, compress=False)


def downloads_for(order, user) -> list[dict]:
    """[{line, product, token}] for the digital items of a paid order, for its buyer; [] otherwise."""
    if order.buyer_id != getattr(user, "pk", None) or order.status not in (Order.Status.PAID,
                                                                           Order.Status.PARTIALLY_REFUNDED):
        return []
    if not gate.is_delivered(order):  # held for a risk review (or rejected): nothing to download
        return []
    out = []
    for line in order.lines.all():
        product = sellables.product_of_line(line) if line.active_quantity > 0 else None
        if product is not None and product.kind == product.Kind.DIGITAL and product.digital_file:
            out.append({"line": line, "product": product, "token": download_token(line, user)})
    return out


def open_download(token: str, user):
    """(stored FieldFile, filename) for a download link (the view hands it to microstage.filesend);
    Forbidden when forged, expired or not (any more) paid, NotFound when the link belongs to someone else."""
    from pathlib import PurePath

    from django.core.signing import BadSignature, SignatureExpired, TimestampSigner
    from django.utils.text import slugify

    try:
        claims = TimestampSigner(salt=DOWNLOAD_SALT).unsign_object(token, max_age=DOWNLOAD_MAX_AGE)
    except SignatureExpired:
        raise Forbidden(gettext("This download link has expired: open your order for a fresh one."),
                        code="expired") from None
    except (BadSignature, ValueError, TypeError):
        raise Forbidden(gettext("This download link is not valid."), code="invalid_link") from None
    if not isinstance(claims, dict) or claims.get("u") != getattr(user, "pk", None):
        raise NotFound(gettext("No such download."))
    line = OrderLine.objects.select_related("order").filter(pk=claims.get("l")).first()
    if line is None or line.order.buyer_id != user.pk:
        raise NotFound(gettext("No such download."))
    if line.order.status not in (Order.Status.PAID, Order.Status.PARTIALLY_REFUNDED) or line.active_quantity < 1:
        raise Forbidden(gettext("This item is not paid (or was refunded)."), code="not_paid")
    if not gate.is_delivered(line.order):
        raise Forbidden(gettext("This order is being checked; your download opens once it is confirmed."),
                        code="held_for_review")
    product = sellables.product_of_line(line)
    if product is None or not product.digital_file:
        raise NotFound(gettext("No such download."))
    # Stored under a generated name; the buyer gets the product's name with the file's extension.
    ext = PurePath(product.digital_file.name).suffix
    return product.digital_file, (slugify(product.name)[:80] or "download") + ext
