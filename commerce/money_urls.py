"""Routes of the creator's money pages and the watch page's tip form."""
from django.urls import path

from . import money_views

urlpatterns = [
    path("dashboard/money/", money_views.money_page, name="dash-money"),
    path("dashboard/money/payouts/", money_views.payout_record, name="dash-money-payout"),
    path("tips/<id:creator_id>/", money_views.tip, name="tip"),
]
