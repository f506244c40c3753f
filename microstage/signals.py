"""Receivers: team invitations follow allauth's email verification; the Sites record follows SITE_URL."""
from urllib.parse import urlsplit

from allauth.account.signals import email_confirmed
from django.conf import settings
from django.dispatch import receiver

from . import services


@receiver(email_confirmed)
def claim_team_invitations(request, email_address, **kwargs):
    """A verified address proves ownership: pending team invitations for it become roles."""
    services.claim_invitations(email_address.user, verified=True)


def name_the_site(**kwargs):
    """allauth's emails name the current Site: make it "Microstage" at SITE_URL, not example.com."""
    from django.contrib.sites.models import Site

    domain = urlsplit(settings.SITE_URL).netloc or "localhost"
    Site.objects.update_or_create(pk=settings.SITE_ID, defaults={"domain": domain, "name": "Microstage"})
