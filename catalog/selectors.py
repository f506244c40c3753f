"""Reads for the catalog: what a creator's shop sells, and products with their variants' live stock."""
from commerce import inventory


def shop_products(creator):
    """What the creator's shop sells: active products (digital ones once their file is there)."""
    from .models import Product

    return (Product.objects.filter(creator=creator, is_active=True)
            .exclude(kind=Product.Kind.DIGITAL, digital_file="").order_by("name"))


def products_with_stock(products) -> list:
    """Products with `variant_list`, each variant carrying `available`, `sold` and `key`; the product
    carries `available` (all variants) and `sold_out`."""
    products = list(products.prefetch_related("variants"))
    variants = [v for p in products for v in p.variants.all()]
    keys = [inventory.variant_key(v.pk) for v in variants]
    left = inventory.availability_by_key(keys)
    sold = inventory.sold_by_key(keys)
    for p in products:
        p.variant_list = list(p.variants.all())
        for v in p.variant_list:
            v.key = inventory.variant_key(v.pk)
            v.available = min(left.get(v.key, v.stock), max(0, v.stock - sold.get(v.key, 0)))
            v.sold = sold.get(v.key, 0)
        p.available = sum(v.available for v in p.variant_list)
        p.sold_out = p.available == 0
    return products
