"""URL routes (filled in by the memberships work)."""
urlpatterns: list = []
