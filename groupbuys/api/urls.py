"""API v1 routes for group-buys (ids matched strictly, as everywhere)."""
from django.urls import re_path

from microstage.converters import ID_REGEX

from . import views

GROUP_BUY = r"group-buys/(?P<group_buy_id>" + ID_REGEX + r")"

urlpatterns = [
    re_path(r"^group-buys$", views.GroupBuyListView.as_view(), name="api-group-buys"),
    re_path(rf"^{GROUP_BUY}$", views.GroupBuyDetailView.as_view(), name="api-group-buy"),
    re_path(rf"^{GROUP_BUY}/join$", views.GroupBuyJoinView.as_view(), name="api-group-buy-join"),
    re_path(rf"^{GROUP_BUY}/settle$", views.GroupBuySettleView.as_view(), name="api-group-buy-settle"),
]
