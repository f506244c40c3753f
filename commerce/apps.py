"""App configuration for commerce: payment handlers, sellable kinds and signal receivers, wired once."""
from django.apps import AppConfig


class CommerceConfig(AppConfig):
    name = "commerce"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self):
        from microstage.payments.registry import register_handler

        from . import groupbuys, money, sellables, services, signals, stock
        from .shop_views import downloads_section
        from .views import register_order_section

        register_handler(services.PURPOSE, on_paid=services.on_payment_paid, on_failed=services.on_payment_failed,
                         on_cancelled=services.on_payment_failed, on_refunded=services.on_payment_refunded,
                         on_dispute_opened=money.on_dispute_opened, on_dispute_closed=money.on_dispute_closed)
        # The creator's money: tips as a sellable kind, the ledger fed by paid and refunded orders.
        sellables.register(money.TIP_KIND, offer=money.tip_offer, on_paid=money.on_tip_paid)
        sellables.register_event_of(money.TIP_KIND, lambda line: (line.options or {}).get("event", ""))
        sellables.register_event_of(groupbuys.KIND, groupbuys.event_of_line)
        signals.order_paid.connect(money.record_sale, dispatch_uid="commerce.money.sale")
        signals.order_refunded.connect(money.record_refund, dispatch_uid="commerce.money.refund")
        from microstage.payments.registry import register_connect_handler

        from . import connect, payouts

        register_connect_handler(on_account_updated=connect.on_account_updated, on_payout=payouts.on_provider_payout)
        services.register_product_sellable()
        # The destination charge plugs into checkout (commerce/gate.py), as the risk app's review does.
        from . import gate

        gate.register_charge_params(money.connect_params)
        groupbuys.register()  # the group_buy sellable kind and the commerce.group_buy payment handlers
        stock.register()  # pop-up QR sales (pos_item) and their paid-order listener
        register_order_section(services.PRODUCT_KIND, downloads_section)
