"""Order pages for buyers (checkout, order page, receipts)."""
urlpatterns: list = []
