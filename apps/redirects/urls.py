from django.urls import path

from apps.redirects import views

app_name = "redirects"
urlpatterns = [
    path("projects/<int:project_id>/", views.dashboard, name="dashboard"),
    path("projects/<int:project_id>/jobs/", views.jobs_partial, name="jobs"),
    path("projects/<int:project_id>/start/", views.start, name="start"),
    path("projects/<int:project_id>/upload/", views.upload, name="upload"),
    path("projects/<int:project_id>/export.csv", views.export, name="export"),
]
