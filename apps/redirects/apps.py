from django.apps import AppConfig


class RedirectsConfig(AppConfig):
    name = "apps.redirects"
    label = "redirects"
    verbose_name = "Redirects"
