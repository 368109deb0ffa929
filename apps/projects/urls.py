from django.urls import path

from apps.projects import views

app_name = "projects"
urlpatterns = [
    path("", views.project_list, name="list"),
    path("<int:pk>/", views.project_detail, name="detail"),
    path("<int:pk>/runs/start/", views.project_start_run, name="start_run"),
    path("<int:pk>/lag/", views.project_lag, name="lag"),
    path("<int:pk>/schedules/", views.project_schedule_create, name="schedule_create"),
    path("<int:pk>/schedules/cutover/", views.project_schedule_cutover, name="schedule_cutover"),
    path(
        "<int:pk>/schedules/<int:schedule_id>/toggle/",
        views.project_schedule_toggle,
        name="schedule_toggle",
    ),
    path(
        "<int:pk>/schedules/<int:schedule_id>/delete/",
        views.project_schedule_delete,
        name="schedule_delete",
    ),
    path("<int:pk>/members/", views.project_add_member, name="add_member"),
    path("<int:pk>/settings/", views.project_settings, name="settings"),
]
