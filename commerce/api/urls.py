"""API v1 routes for orders.

Order ids in paths are matched strictly (letters, digits, "_" and "-"): anything else is a JSON 404
before a view runs, so no odd byte (a NUL, say) ever reaches a database query.
"""
from django.urls import re_path

from . import views
from microstage.converters import ID_REGEX

ORDER = r"orders/(?P<order_id>" + ID_REGEX + r")"

urlpatterns = [
    re_path(r"^me/credit$", views.MyCreditView.as_view(), name="api-my-credit"),
    re_path(r"^orders$", views.OrderListView.as_view(), name="api-orders"),
    re_path(rf"^{ORDER}$", views.OrderDetailView.as_view(), name="api-order"),
    re_path(rf"^{ORDER}/checkout$", views.OrderCheckoutView.as_view(), name="api-order-checkout"),
    re_path(rf"^{ORDER}/sandbox-pay$", views.OrderSandboxPayView.as_view(), name="api-order-sandbox-pay"),
    re_path(rf"^{ORDER}/cancel$", views.OrderCancelView.as_view(), name="api-order-cancel"),
    re_path(rf"^{ORDER}/refund$", views.OrderRefundView.as_view(), name="api-order-refund"),
]
