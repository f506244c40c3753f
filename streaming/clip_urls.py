"""Public clip pages (mounted at /clips/)."""
from django.urls import path

from . import clip_views, replay_views

urlpatterns = [
    path("<id:clip_id>/", clip_views.clip_page, name="clip-page"),
    path("<id:clip_id>/buy/", replay_views.buy_clip, name="clip-buy"),
]
