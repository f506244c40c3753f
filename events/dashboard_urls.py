"""Creator dashboard pages for events (mounted under /dashboard/events/)."""
urlpatterns: list = []
