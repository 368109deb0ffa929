from django.urls import path

from apps.conflicts.api import views

urlpatterns = [
    path(
        "projects/<int:project_id>/conflicts/",
        views.ProjectConflictsView.as_view(),
        name="project-conflicts",
    ),
    path(
        "projects/<int:project_id>/conflicts/bulk-resolve/",
        views.ProjectBulkResolveView.as_view(),
        name="project-conflicts-bulk-resolve",
    ),
    path("conflicts/<int:pk>/", views.ConflictDetailView.as_view(), name="conflict-detail"),
    path(
        "conflicts/<int:pk>/resolve/",
        views.ConflictResolveView.as_view(),
        name="conflict-resolve",
    ),
    path(
        "conflicts/<int:pk>/resolve-delete/",
        views.ConflictResolveDeleteView.as_view(),
        name="conflict-resolve-delete",
    ),
    path(
        "conflicts/<int:pk>/dismiss/",
        views.ConflictDismissView.as_view(),
        name="conflict-dismiss",
    ),
]
