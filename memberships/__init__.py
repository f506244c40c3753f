"""Micro-subscriptions, passes and loyalty points."""
