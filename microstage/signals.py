"""Receivers: the Sites record follows SITE_URL.

Team invitations are not claimed on email confirmation: the recipient accepts each one from its
link (microstage.services.accept_invitation), logged in with the verified address.
"""
from urllib.parse import urlsplit

from django.conf import settings


def name_the_site(**kwargs):
    """allauth's emails name the current Site: make it "Microstage" at SITE_URL, not example.com."""
    from django.contrib.sites.models import Site

    domain = urlsplit(settings.SITE_URL).netloc or "localhost"
    Site.objects.update_or_create(pk=settings.SITE_ID, defaults={"domain": domain, "name": "Microstage"})
