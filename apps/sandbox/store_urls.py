# Included from apps/stores/urls.py (namespace "stores"), so the page is `stores:sandbox`:
#     path("<int:pk>/sandbox/", include("apps.sandbox.store_urls")),
# No app_name here: the names join the including namespace.
from django.urls import path

from apps.sandbox import views

urlpatterns = [
    path("", views.sandbox_faults, name="sandbox"),
]
