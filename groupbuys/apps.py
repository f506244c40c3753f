"""App configuration for group-buys: the group_buy sellable kind and its payment handlers, wired once."""
from django.apps import AppConfig


class GroupbuysConfig(AppConfig):
    name = "groupbuys"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self):
        from . import services

        services.register()  # the group_buy sellable kind and the commerce.group_buy payment handlers
