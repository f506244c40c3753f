"""The creator's shop and downloads of digital items (buyers' pages)."""
from django.urls import path

from . import shop_views

urlpatterns = [
    path("c/<slug:slug>/shop/", shop_views.shop, name="creator-shop"),
    path("c/<slug:slug>/shop/buy/", shop_views.shop_buy, name="creator-shop-buy"),
    path("downloads/<token:token>/", shop_views.download, name="download"),
]
