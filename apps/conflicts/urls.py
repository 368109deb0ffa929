from django.urls import path

from apps.conflicts import views

app_name = "conflicts"
urlpatterns = [
    path("", views.index, name="index"),
    path("projects/<int:project_id>/", views.queue, name="queue"),
    path("projects/<int:project_id>/bulk/preview/", views.bulk_preview, name="bulk_preview"),
    path("projects/<int:project_id>/bulk/", views.bulk_resolve, name="bulk_resolve"),
    path("<int:pk>/", views.detail, name="detail"),
    path("<int:pk>/resolve/", views.resolve, name="resolve"),
    path("<int:pk>/resolve-delete/", views.resolve_delete, name="resolve_delete"),
    path("<int:pk>/dismiss/", views.dismiss, name="dismiss"),
]
