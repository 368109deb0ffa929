from django.urls import path

from apps.golive import views

app_name = "golive"
urlpatterns = [
    path("projects/<int:project_id>/", views.plan, name="plan"),
    path(
        "projects/<int:project_id>/gates/<int:gate_id>/approve/",
        views.gate_approve,
        name="gate_approve",
    ),
    path(
        "projects/<int:project_id>/gates/<int:gate_id>/withdraw/",
        views.gate_withdraw,
        name="gate_withdraw",
    ),
    path("projects/<int:project_id>/gates/<int:gate_id>/", views.gate_edit, name="gate_edit"),
    path("projects/<int:project_id>/checks/<int:check_id>/", views.check_edit, name="check_edit"),
    path("projects/<int:project_id>/units/<int:unit_id>/", views.unit_edit, name="unit_edit"),
    path("projects/<int:project_id>/rollback/", views.rollback, name="rollback"),
    path(
        "projects/<int:project_id>/notifications/",
        views.notifications_page,
        name="notifications",
    ),
    path(
        "projects/<int:project_id>/notifications/webhooks/",
        views.endpoint_create,
        name="endpoint_create",
    ),
    path(
        "projects/<int:project_id>/notifications/webhooks/<int:endpoint_id>/delete/",
        views.endpoint_delete,
        name="endpoint_delete",
    ),
    path("projects/<int:project_id>/notifications/email/", views.email_edit, name="email_edit"),
]
