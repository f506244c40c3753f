"""Creator dashboard pages for products (mounted under /dashboard/products/)."""
from django.urls import path

from . import dashboard_views as views

urlpatterns = [
    path("", views.product_list, name="dash-products"),
    path("new/", views.product_new, name="dash-product-new"),
    path("<id:product_id>/", views.product_edit, name="dash-product"),
    path("<id:product_id>/variants/", views.variant_save, name="dash-variant-new"),
    path("<id:product_id>/variants/<id:variant_id>/", views.variant_save, name="dash-variant"),
]
