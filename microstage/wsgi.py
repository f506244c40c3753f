"""WSGI entry point (management tools; the platform itself is served over ASGI)."""
import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "microstage.settings")
application = get_wsgi_application()
