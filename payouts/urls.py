"""Routes of the creator's money pages and the watch page's tip form."""
from django.urls import path

from . import payout_views
from . import views as money_views

urlpatterns = [
    path("dashboard/money/", money_views.money_page, name="dash-money"),
    path("dashboard/money/payouts/", money_views.payout_record, name="dash-money-payout"),
    path("dashboard/money/schedule/", payout_views.schedule, name="dash-payout-schedule"),
    path("dashboard/money/payouts/<id:payout_id>/", payout_views.statement_page, name="dash-payout"),
    path("dashboard/money/payouts/<id:payout_id>.csv", payout_views.statement_csv, name="dash-payout-csv"),
    path("dashboard/money/connect/", payout_views.connect_start, name="dash-connect"),
    path("dashboard/money/connect/refresh/", payout_views.connect_refresh, name="dash-connect-refresh"),
    path("dashboard/money/connect/return/", payout_views.connect_return, name="dash-connect-return"),
    path("tips/<id:creator_id>/", money_views.tip, name="tip"),
]
