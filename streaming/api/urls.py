"""URL routes (filled in by the streaming work)."""
urlpatterns: list = []
