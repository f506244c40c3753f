"""App configuration for payouts: tips as a sellable kind, the ledger fed by paid, refunded and disputed
orders, the connected-account charge and Stripe Connect news, wired once."""
from django.apps import AppConfig


class PayoutsConfig(AppConfig):
    name = "payouts"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self):
        from commerce import gate, sellables, signals
        from microstage.payments.registry import register_connect_handler

        from . import connect, money
        from . import services as payouts

        # The creator's money: tips as a sellable kind, the ledger fed by paid and refunded orders.
        sellables.register(money.TIP_KIND, offer=money.tip_offer, on_paid=money.on_tip_paid, event_of=money.tip_event)
        signals.order_paid.connect(money.record_sale, dispatch_uid="payouts.money.sale")
        signals.order_refunded.connect(money.record_refund, dispatch_uid="payouts.money.refund")
        # Chargebacks on orders' payments, the destination charge and whether a creator can take charges.
        gate.register_disputes(opened=money.on_dispute_opened, closed=money.on_dispute_closed)
        gate.register_charge_params(money.connect_params)
        gate.register_charge_check(connect.require_charges)
        register_connect_handler(on_account_updated=connect.on_account_updated, on_payout=payouts.on_provider_payout)
