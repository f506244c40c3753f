"""The selling core: inventory and holds, orders, cart and checkout, payment glue, refunds, store credit,
receipts. See README "The selling apps"."""
