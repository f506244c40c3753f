"""API v1 routes for products.

Product ids in paths are matched strictly (letters, digits, "_" and "-"): anything else is a JSON 404
before a view runs.
"""
from django.urls import re_path

from . import product_views
from microstage.converters import ID_REGEX

urlpatterns = [
    re_path(r"^products$", product_views.ProductListView.as_view(), name="api-products"),
    re_path(r"^products/(?P<product_id>" + ID_REGEX + r")$", product_views.ProductDetailView.as_view(),
            name="api-product"),
]
