from django.urls import path

from apps.reconciliation import views

app_name = "reconciliation"
urlpatterns = [
    path("projects/<int:project_id>/", views.project_report, name="project"),
    path("projects/<int:project_id>/verify/", views.start_verify, name="start_verify"),
    path("projects/<int:project_id>/important/", views.important_records, name="important"),
    path(
        "projects/<int:project_id>/important/<int:pk>/remove/",
        views.important_remove,
        name="important_remove",
    ),
    path("reports/<int:pk>/", views.report_detail, name="report"),
    path("reports/<int:pk>/items.csv", views.report_csv, name="csv"),
]
