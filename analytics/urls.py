"""URL routes (filled in by the analytics work)."""
urlpatterns: list = []
