"""Writes for events, by sub-domain: events (and tiers), tickets, check-in and drops."""
