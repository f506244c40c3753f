"""Signals commerce sends, so apps above it can react without commerce knowing them."""
from django.dispatch import Signal

# Sent inside the transaction that marks an order paid (receivers must be idempotent): order=Order.
order_paid = Signal()
# Sent inside the refund's transaction (order locked): order=Order (refunded_total already includes it),
# amount=Decimal refunded by this step.
order_refunded = Signal()
# Sent when a guest who bought without an account makes one from the order page: order=Order (its
# buyer now set), user=User. Apps attach what the order delivered (tickets) to the new account.
guest_order_claimed = Signal()
# Sent inside the dispute's transaction (order locked) when the payer's bank opens a chargeback and when
# it is decided: order=Order, dispute=Dispute, outcome="opened"|"won"|"lost". Receivers must be idempotent.
order_disputed = Signal()
# Sent inside the transaction that marks a group-buy SETTLED (once): group_buy=GroupBuy. Fulfilment opens
# its shipping batch.
group_buy_settled = Signal()
