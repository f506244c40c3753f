"""Creator dashboard pages for products (mounted under /dashboard/products/)."""
from django.urls import path

from . import dashboard_views as views
from . import pos_views, stock_views

urlpatterns = [
    path("", views.product_list, name="dash-products"),
    path("new/", views.product_new, name="dash-product-new"),
    # Stock across places and the pop-up till (before "<product_id>/", which would swallow them).
    path("stock/", stock_views.location_list, name="dash-stock"),
    path("stock/sales/<id:sale_id>/resolve/", stock_views.sale_resolve, name="dash-stock-resolve"),
    path("stock/<id:location_id>/", stock_views.location_detail, name="dash-stock-location"),
    path("stock/<id:location_id>/receive/", stock_views.location_receive, name="dash-stock-receive"),
    path("stock/<id:location_id>/transfer/", stock_views.location_transfer, name="dash-stock-transfer"),
    path("stock/<id:location_id>/override/", stock_views.location_override, name="dash-stock-override"),
    path("pos/<id:location_id>/", pos_views.pos_page, name="pos"),
    path("pos/<id:location_id>/catalogue", pos_views.catalogue, name="pos-catalogue"),
    path("pos/<id:location_id>/sync", pos_views.sync, name="pos-sync"),
    path("pos/<id:location_id>/qr", pos_views.qr_sale, name="pos-qr"),
    path("pos/<id:location_id>/sales/<id:sale_id>", pos_views.sale_status, name="pos-sale"),
    path("pos/<id:location_id>/sales/<id:sale_id>/cancel", pos_views.sale_cancel, name="pos-sale-cancel"),
    path("<id:product_id>/", views.product_edit, name="dash-product"),
    path("<id:product_id>/variants/", views.variant_save, name="dash-variant-new"),
    path("<id:product_id>/variants/<id:variant_id>/", views.variant_save, name="dash-variant"),
]
