"""Public event pages."""
from django.urls import path

from . import views

urlpatterns = [
    path("", views.discover, name="home"),
    path("e/<slug:slug>/", views.landing, name="event-landing"),
]
