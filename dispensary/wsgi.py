"""WSGI entry point (gunicorn dispensary.wsgi)."""

import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "dispensary.settings")
application = get_wsgi_application()
