import os

from django.core.wsgi import get_wsgi_application

from apps.sandbox.wsgi import SandboxFaultsApp

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "migrator.settings")
# The wrapper turns a sandbox's "dropped connection" fault into a real one (apps/sandbox/wsgi.py).
application = SandboxFaultsApp(get_wsgi_application())
