"""The selling engine: inventory and holds, orders, payments, refunds, group-buys, payouts."""
