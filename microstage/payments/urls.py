"""Payment pages and provider webhooks."""
from django.urls import path

from . import views

app_name = "payments"

urlpatterns = [
    path("sandbox/checkout/<id:session_id>/", views.sandbox_checkout, name="sandbox-checkout"),
    path("stripe/webhook/", views.stripe_webhook, name="stripe-webhook"),
]
