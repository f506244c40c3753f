"""App configuration for the catalog: the product sellable kind and the order page's downloads, wired once."""
from django.apps import AppConfig


class CatalogConfig(AppConfig):
    name = "catalog"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self):
        from commerce.views import register_order_section

        from . import services
        from .shop_views import downloads_section

        services.register_product_sellable()
        register_order_section(services.PRODUCT_KIND, downloads_section)
