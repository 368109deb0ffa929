"""The project's URLs with the review queue mounted as the lead will mount it (dashboard under
conflicts/, API under api/v1/), for tests until migrator/urls.py includes them."""

from django.urls import URLResolver, include, path

from migrator import urls as project_urls


def _mounted(patterns: list, name: str) -> bool:
    return any(isinstance(p, URLResolver) and p.app_name == name for p in patterns)


_API = "apps.conflicts.api.urls"
api_v1 = list(project_urls.api_v1)
if not any(isinstance(p, URLResolver) and p.urlconf_name == _API for p in api_v1):
    api_v1.append(path("", include(_API)))

urlpatterns = [
    p for p in project_urls.urlpatterns if not str(getattr(p, "pattern", "")).startswith("api/v1/")
]
urlpatterns.insert(0, path("api/v1/", include((api_v1, "api"), namespace="api")))
if not _mounted(project_urls.urlpatterns, "conflicts"):
    urlpatterns.insert(0, path("conflicts/", include("apps.conflicts.urls")))
