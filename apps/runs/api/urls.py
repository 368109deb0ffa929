from django.urls import path

from apps.runs.api import schedules, views

urlpatterns = [
    path("projects/<int:project_id>/runs/", views.ProjectRunsView.as_view(), name="project-runs"),
    path("runs/<int:pk>/", views.RunDetailView.as_view(), name="run-detail"),
    path("runs/<int:pk>/cancel/", views.RunCancelView.as_view(), name="run-cancel"),
    path("runs/<int:pk>/failures/", views.RunFailuresView.as_view(), name="run-failures"),
    path("runs/<int:pk>/batches/", views.RunBatchesView.as_view(), name="run-batches"),
    path("runs/<int:pk>/errors/", views.RunErrorGroupsView.as_view(), name="run-errors"),
    path(
        "runs/<int:pk>/start-for-real/",
        views.RunStartForRealView.as_view(),
        name="run-start-for-real",
    ),
    path(
        "projects/<int:project_id>/schedules/",
        schedules.ProjectSchedulesView.as_view(),
        name="project-schedules",
    ),
    path("schedules/<int:pk>/", schedules.ScheduleDetailView.as_view(), name="schedule-detail"),
    path("projects/<int:project_id>/lag/", schedules.ProjectLagView.as_view(), name="project-lag"),
    path(
        "runs/<int:pk>/retry-failed/",
        views.RunRetryFailedView.as_view(),
        name="run-retry-failed",
    ),
]
