"""Group-buy pages for buyers: the page, join and leave."""
from django.urls import path

from . import views

urlpatterns = [
    path("g/<id:group_buy_id>/", views.group_buy_page, name="group-buy"),
    path("g/<id:group_buy_id>/join/", views.group_buy_join, name="group-buy-join"),
    path("g/<id:group_buy_id>/leave/<id:participant_id>/", views.group_buy_leave, name="group-buy-leave"),
]
