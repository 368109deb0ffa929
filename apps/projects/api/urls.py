from django.urls import path

from apps.projects.api import views

urlpatterns = [
    path("projects/", views.ProjectListCreateView.as_view(), name="project-list"),
    path("projects/<int:pk>/", views.ProjectDetailView.as_view(), name="project-detail"),
    path(
        "projects/<int:project_id>/members/",
        views.ProjectMembersView.as_view(),
        name="project-members",
    ),
    path(
        "projects/<int:project_id>/settings/",
        views.ProjectSettingsView.as_view(),
        name="project-settings",
    ),
]
