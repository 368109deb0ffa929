# Included in migrator/urls.py's api_v1 list: path("", include("apps.webhooks.api.urls")).
from django.urls import path

from apps.webhooks.api import views

urlpatterns = [
    path(
        "projects/<int:project_id>/webhooks/",
        views.ProjectWebhooksView.as_view(),
        name="project-webhooks",
    ),
    path(
        "stores/<int:pk>/sandbox/webhooks/",
        views.SandboxWebhookFaultsView.as_view(),
        name="store-sandbox-webhooks",
    ),
]
