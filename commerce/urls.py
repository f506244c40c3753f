"""Order pages for buyers (order, pay, cancel, receipts) and the published signing key."""
from django.urls import include, path

from . import views

urlpatterns = [
    path(".well-known/microstage-signing-key", views.signing_key, name="signing-key"),
    path("", include("commerce.cart_views")),  # /cart/…: one order, one payment; guests with an email
    path("orders/", views.orders_list, name="orders"),
    path("orders/<id:order_id>/", views.order_detail, name="order"),
    path("orders/<id:order_id>/pay/", views.order_pay, name="order-pay"),
    path("orders/<id:order_id>/cancel/", views.order_cancel, name="order-cancel"),
    path("orders/<id:order_id>/receipt/", views.receipt_page, name="order-receipt"),
    path("orders/<id:order_id>/receipt.json", views.receipt_json, name="order-receipt-json"),
]
