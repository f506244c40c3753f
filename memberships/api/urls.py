"""API v1 routes for memberships. Ids in paths are matched strictly: anything else is a JSON 404."""
from django.urls import re_path

from . import promo_views, views
from microstage.converters import ID_REGEX

ID = ID_REGEX
PLAN = rf"membership-plans/(?P<plan_id>{ID})"
MINE = rf"me/memberships/(?P<membership_id>{ID})"

urlpatterns = [
    re_path(r"^membership-plans$", views.PlanListView.as_view(), name="api-membership-plans"),
    re_path(rf"^{PLAN}$", views.PlanDetailView.as_view(), name="api-membership-plan"),
    re_path(rf"^{PLAN}/subscribe$", views.SubscribeView.as_view(), name="api-membership-plan-subscribe"),
    re_path(rf"^creators/(?P<creator_id>{ID})/membership-plans$", views.CreatorPlansView.as_view(),
            name="api-creator-membership-plans"),
    re_path(r"^me/memberships$", views.MyMembershipsView.as_view(), name="api-my-memberships"),
    re_path(rf"^{MINE}$", views.MyMembershipView.as_view(), name="api-my-membership"),
    re_path(rf"^{MINE}/cancel$", views.CancelMembershipView.as_view(), name="api-my-membership-cancel"),
    re_path(rf"^{MINE}/resume$", views.ResumeMembershipView.as_view(), name="api-my-membership-resume"),
    re_path(rf"^creators/(?P<creator_id>{ID})/promo-codes$", promo_views.CreatorPromoCodesView.as_view(),
            name="api-creator-promo-codes"),
    re_path(r"^me/loyalty$", views.MyLoyaltyView.as_view(), name="api-my-loyalty"),
]
