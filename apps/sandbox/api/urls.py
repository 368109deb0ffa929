# Included in migrator/urls.py's api_v1 list: path("", include("apps.sandbox.api.urls")).
from django.urls import path

from apps.sandbox.api import views

urlpatterns = [
    path("stores/<int:pk>/sandbox/", views.SandboxFaultsView.as_view(), name="store-sandbox"),
]
