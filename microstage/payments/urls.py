"""Payment pages and provider webhooks."""
urlpatterns: list = []
