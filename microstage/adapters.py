"""allauth adapter: Microstage's users have no username and a display name."""
from allauth.account.adapter import DefaultAccountAdapter
from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _

from .models import User

EMAIL_MAX_LENGTH = User._meta.get_field("email").max_length


class AccountAdapter(DefaultAccountAdapter):
    def populate_username(self, request, user):
        """Users log in with their email; there is no username to fill."""

    def clean_email(self, email):
        """Refuse addresses longer than the column: allauth would otherwise silently cut them short."""
        email = super().clean_email(email)
        if len(email) > EMAIL_MAX_LENGTH:
            raise ValidationError(
                _("Use an email address of at most %(email_max_length)s characters.")
                % {"email_max_length": EMAIL_MAX_LENGTH}
            )
        return email

    def get_email_verification_redirect_url(self, email_address):
        """Back to the invitation or ticket link that asked for the confirmation, if there was one."""
        from .verification import return_url_after_verification

        return return_url_after_verification(self.request) or super().get_email_verification_redirect_url(
            email_address)
