from django.urls import path

from apps.runs import views

app_name = "runs"
urlpatterns = [
    path("<int:pk>/", views.run_detail, name="detail"),
    path("<int:pk>/progress/", views.run_progress, name="progress"),
    path("<int:pk>/cancel/", views.run_cancel, name="cancel"),
    path("<int:pk>/retry-failed/", views.run_retry_failed, name="retry_failed"),
    path("<int:pk>/batches/", views.run_batches, name="batches"),
    path("<int:pk>/start-for-real/", views.run_start_for_real, name="start_for_real"),
]
