from django.urls import include, path

from apps.stores import views

app_name = "stores"
urlpatterns = [
    path("", views.store_list, name="list"),
    path("new/", views.store_create, name="create"),
    path("<int:pk>/edit/", views.store_edit, name="edit"),
    # The sandbox's fault settings page, named stores:sandbox (apps/sandbox/store_urls.py).
    path("<int:pk>/sandbox/", include("apps.sandbox.store_urls")),
]
