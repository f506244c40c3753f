"""Fan pages for memberships (a creator's plans, my memberships, points, passes) and referral links."""
from django.urls import path

from . import referral_views, views

urlpatterns: list = [
    path("r/<id:code>/", referral_views.referral_link, name="referral-link"),
    path("c/<slug:slug>/membership/", views.plans_page, name="creator-membership"),
    path("c/<slug:slug>/membership/join/", views.join, name="membership-join"),
    path("c/<slug:slug>/membership/passes/<id:product_id>/buy/", views.buy_pass, name="pass-buy"),
    path("account/memberships/", views.my_memberships, name="my-memberships"),
    path("account/memberships/<id:membership_id>/cancel/", views.cancel, name="membership-cancel"),
    path("account/memberships/<id:membership_id>/resume/", views.resume, name="membership-resume"),
    path("account/points/", views.my_points, name="my-points"),
    path("account/points/rewards/<id:reward_id>/redeem/", views.redeem, name="reward-redeem"),
    path("account/passes/", views.my_passes, name="my-passes"),
]
