"""App configuration for group-buys: the group_buy sellable kind and its payment handlers, wired once."""
from django.apps import AppConfig


class GroupbuysConfig(AppConfig):
    name = "groupbuys"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self):
        from commerce import sellables

        from . import services

        sellables.register_event_of(services.KIND, services.event_of_line)
        services.register()  # the group_buy sellable kind and the commerce.group_buy payment handlers
