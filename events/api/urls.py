"""API v1 routes for events, tiers, tickets and check-in."""
urlpatterns: list = []
