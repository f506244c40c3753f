"""The selling core: inventory and holds, orders, cart and checkout, payment glue, refunds, store credit,
receipts (and, until their own apps, products and group-buys). See README "The selling apps"."""
