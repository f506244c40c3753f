"""The payments gateway: one interface, a sandbox provider and a Stripe provider (dj-stripe)."""
