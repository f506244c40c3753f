"""Checkout risk: every checkout attempt recorded and scored, risky paid orders held for staff review."""
