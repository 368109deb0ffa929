from django.urls import path

from apps.reconciliation.api import views

urlpatterns = [
    path(
        "projects/<int:project_id>/reconciliation/latest/",
        views.LatestReportView.as_view(),
        name="reconciliation-latest",
    ),
    path(
        "projects/<int:project_id>/important-records/",
        views.ImportantRecordsView.as_view(),
        name="important-records",
    ),
    path(
        "important-records/<int:pk>/",
        views.ImportantRecordDetailView.as_view(),
        name="important-record-detail",
    ),
    path(
        "reconciliation/reports/<int:pk>/",
        views.ReportDetailView.as_view(),
        name="reconciliation-report",
    ),
    path(
        "reconciliation/reports/<int:pk>/items/",
        views.ReportItemsView.as_view(),
        name="reconciliation-items",
    ),
    path(
        "reconciliation/reports/<int:pk>/items.csv",
        views.ReportCsvView.as_view(),
        name="reconciliation-csv",
    ),
]
