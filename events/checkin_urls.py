"""Door check-in pages (mounted under /door/)."""
urlpatterns: list = []
