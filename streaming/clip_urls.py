"""Public clip pages (mounted at /clips/)."""
from django.urls import path

from . import clip_views

urlpatterns = [
    path("<id:clip_id>/", clip_views.clip_page, name="clip-page"),
]
