"""API v1 routes for orders."""
urlpatterns: list = []
