"""App configuration for stock: the pop-up till's sellable kind and its paid-order listener."""
from django.apps import AppConfig


class StockConfig(AppConfig):
    name = "stock"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self):
        from . import services

        services.register()  # pop-up QR sales (pos_item) and their paid-order listener
