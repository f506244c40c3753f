"""Order pages for buyers (order, pay, cancel, receipts) and the published signing key."""
from django.urls import path

from . import views

urlpatterns = [
    path(".well-known/microstage-signing-key", views.signing_key, name="signing-key"),
    path("orders/", views.orders_list, name="orders"),
    path("orders/<str:order_id>/", views.order_detail, name="order"),
    path("orders/<str:order_id>/pay/", views.order_pay, name="order-pay"),
    path("orders/<str:order_id>/cancel/", views.order_cancel, name="order-cancel"),
    path("orders/<str:order_id>/receipt/", views.receipt_page, name="order-receipt"),
    path("orders/<str:order_id>/receipt.json", views.receipt_json, name="order-receipt-json"),
]
