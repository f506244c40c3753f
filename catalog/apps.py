"""App configuration for the catalog: the product sellable kind and the order page's downloads, wired once."""
from django.apps import AppConfig


class CatalogConfig(AppConfig):
    name = "catalog"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self):
        from commerce import sellables

        from . import services
        from .shop_views import downloads_section

        # The product kind, registered once with all its hooks.
        sellables.register(services.PRODUCT_KIND, offer=services.product_offer,
                           product_of_line=services.variant_product, order_section=downloads_section)
