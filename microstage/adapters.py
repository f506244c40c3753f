"""allauth adapter: Microstage's users have no username and a display name."""
from allauth.account.adapter import DefaultAccountAdapter


class AccountAdapter(DefaultAccountAdapter):
    def populate_username(self, request, user):
        """Users log in with their email; there is no username to fill."""
