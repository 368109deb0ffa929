from django.urls import path

from apps.redirects.api import views

urlpatterns = [
    path(
        "projects/<int:project_id>/redirects/",
        views.ProjectRedirectsView.as_view(),
        name="project-redirects",
    ),
    path(
        "projects/<int:project_id>/redirects/coverage/",
        views.CoverageView.as_view(),
        name="project-redirects-coverage",
    ),
    path(
        "projects/<int:project_id>/redirects/jobs/",
        views.ProjectJobsView.as_view(),
        name="project-redirect-jobs",
    ),
    path(
        "projects/<int:project_id>/redirects/uploads/",
        views.UploadView.as_view(),
        name="project-redirect-uploads",
    ),
    path(
        "projects/<int:project_id>/redirects/export.csv",
        views.ExportView.as_view(),
        name="project-redirects-export",
    ),
    path("redirect-jobs/<int:pk>/", views.JobDetailView.as_view(), name="redirect-job-detail"),
]
