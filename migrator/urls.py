from django.contrib import admin
from django.urls import include, path
from django.views.generic import RedirectView
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView

api_v1 = [
    path("", include("apps.stores.api.urls")),
    path("", include("apps.projects.api.urls")),
    path("", include("apps.runs.api.urls")),
    path("", include("apps.sandbox.api.urls")),
    path("", include("apps.conflicts.api.urls")),
    path("", include("apps.webhooks.api.urls")),
    path("", include("apps.reconciliation.api.urls")),
    path("", include("apps.redirects.api.urls")),
    path("", include("apps.golive.api.urls")),
]

urlpatterns = [
    path("", RedirectView.as_view(pattern_name="projects:list", permanent=False)),
    path("", include("apps.core.urls")),
    path("projects/", include("apps.projects.urls")),
    path("runs/", include("apps.runs.urls")),
    path("stores/", include("apps.stores.urls")),
    path("sandbox/", include("apps.sandbox.urls")),
    path("conflicts/", include("apps.conflicts.urls")),
    path("webhooks/", include("apps.webhooks.urls")),
    path("reconciliation/", include("apps.reconciliation.urls")),
    path("redirects/", include("apps.redirects.urls")),
    path("golive/", include("apps.golive.urls")),
    path("api/v1/", include((api_v1, "api"), namespace="api")),
    path("api/schema/", SpectacularAPIView.as_view(), name="api-schema"),
    path("api/docs/", SpectacularSwaggerView.as_view(url_name="api-schema"), name="api-docs"),
    path("admin/", admin.site.urls),
]
