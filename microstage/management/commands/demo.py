"""Load the demo data (idempotent) and print the demo logins and URLs."""
from django.conf import settings
from django.core.management.base import BaseCommand
from django.utils.module_loading import autodiscover_modules

from microstage import demo


class Command(BaseCommand):
    help = "Create the demo accounts, creator and content once; print how to log in."

    def handle(self, *args, **options):
        ctx = demo.load_platform()
        # Each app may add to the demo in its own `demo.py` (bottom layer first, as INSTALLED_APPS lists them).
        autodiscover_modules("demo")
        for loader in demo.LOADERS:
            loader(ctx)
        site = settings.SITE_URL
        lines = [
            "",
            "Demo logins (password in brackets):",
            f"  creator (owner)   {demo.CREATOR_EMAIL}  [{demo.PASSWORD}]",
            f"  door staff        {demo.DOOR_EMAIL}  [{demo.PASSWORD}]",
            f"  attendee          {demo.FAN_EMAIL}  [{demo.PASSWORD}]",
            f"  staff (admin)     {demo.ADMIN_EMAIL}  [{demo.PASSWORD}]",
            "URLs:",
            f"  discover          {site}/",
            f"  demo event        {site}{ctx.get('event_url', '/')}",
            f"  dashboard         {site}/dashboard/",
            f"  admin             {site}/admin/",
            f"  API docs          {site}/api/v1/docs/",
            f"  health            {site}/healthz",
            "",
        ]
        self.stdout.write("\n".join(lines))
