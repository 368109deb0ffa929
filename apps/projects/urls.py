from django.urls import path

from apps.projects import views

app_name = "projects"
urlpatterns = [
    path("", views.project_list, name="list"),
    path("<int:pk>/", views.project_detail, name="detail"),
    path("<int:pk>/runs/start/", views.project_start_run, name="start_run"),
    path("<int:pk>/members/", views.project_add_member, name="add_member"),
    path("<int:pk>/settings/", views.project_settings, name="settings"),
]
