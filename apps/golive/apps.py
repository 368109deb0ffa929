from django.apps import AppConfig


class GoliveConfig(AppConfig):
    name = "apps.golive"
    label = "golive"
    verbose_name = "Go-live"
