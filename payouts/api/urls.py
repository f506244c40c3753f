"""API v1 routes for the creator's balance and payouts (ids matched strictly, as everywhere)."""
from django.urls import re_path

from microstage.converters import ID_REGEX

from . import views

CREATOR = rf"creators/(?P<creator_id>{ID_REGEX})"

urlpatterns = [
    re_path(rf"^{CREATOR}/balance$", views.CreatorBalanceView.as_view(), name="api-creator-balance"),
    re_path(rf"^{CREATOR}/payouts$", views.CreatorPayoutsView.as_view(), name="api-creator-payouts"),
]
