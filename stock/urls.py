"""Stock across places and the pop-up till in the creator dashboard (mounted under /dashboard/products/,
before commerce's product pages, whose "<product_id>/" would otherwise be tried first)."""
from django.urls import path

from . import pos_views, views

urlpatterns = [
    path("stock/", views.location_list, name="dash-stock"),
    path("stock/sales/<id:sale_id>/resolve/", views.sale_resolve, name="dash-stock-resolve"),
    path("stock/<id:location_id>/", views.location_detail, name="dash-stock-location"),
    path("stock/<id:location_id>/receive/", views.location_receive, name="dash-stock-receive"),
    path("stock/<id:location_id>/transfer/", views.location_transfer, name="dash-stock-transfer"),
    path("stock/<id:location_id>/override/", views.location_override, name="dash-stock-override"),
    path("pos/<id:location_id>/", pos_views.pos_page, name="pos"),
    path("pos/<id:location_id>/catalogue", pos_views.catalogue, name="pos-catalogue"),
    path("pos/<id:location_id>/sync", pos_views.sync, name="pos-sync"),
    path("pos/<id:location_id>/qr", pos_views.qr_sale, name="pos-qr"),
    path("pos/<id:location_id>/sales/<id:sale_id>", pos_views.sale_status, name="pos-sale"),
    path("pos/<id:location_id>/sales/<id:sale_id>/cancel", pos_views.sale_cancel, name="pos-sale-cancel"),
]
