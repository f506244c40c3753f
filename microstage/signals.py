"""Receivers that keep team invitations in step with allauth's email verification."""
from allauth.account.signals import email_confirmed
from django.dispatch import receiver

from . import services


@receiver(email_confirmed)
def claim_team_invitations(request, email_address, **kwargs):
    """A verified address proves ownership: pending team invitations for it become roles."""
    services.claim_invitations(email_address.user, verified=True)
