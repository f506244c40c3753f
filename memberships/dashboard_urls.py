"""Creator dashboard pages for memberships (mounted under /dashboard/memberships/)."""
from django.urls import path

from . import dashboard_views as views
from . import promo_dashboard

urlpatterns = [
    path("", views.overview, name="dash-memberships"),
    path("plans/new/", views.plan_new, name="dash-plan-new"),
    path("plans/<id:plan_id>/", views.plan_edit, name="dash-plan-edit"),
    path("plans/<id:plan_id>/active/", views.plan_active, name="dash-plan-active"),
    path("members/", views.members, name="dash-members"),
    path("rewards/", views.rewards, name="dash-rewards"),
    path("rewards/new/", views.reward_new, name="dash-reward-new"),
    path("rewards/<id:reward_id>/", views.reward_edit, name="dash-reward-edit"),
    path("redemptions/<id:redemption_id>/used/", views.redemption_used, name="dash-redemption-used"),
    path("promo-codes/", promo_dashboard.promo_codes, name="dash-promo-codes"),
    path("promo-codes/new/", promo_dashboard.promo_code_new, name="dash-promo-code-new"),
    path("promo-codes/<id:promo_id>/active/", promo_dashboard.promo_code_active, name="dash-promo-code-active"),
    path("passes/", views.passes, name="dash-passes"),
    path("passes/new/", views.pass_new, name="dash-pass-new"),
    path("passes/<id:product_id>/", views.pass_edit, name="dash-pass-edit"),
]
