from django.urls import path

from apps.golive.api import views

P = "projects/<int:project_id>/"

urlpatterns = [
    path(f"{P}cutover/", views.PlanView.as_view(), name="project-cutover"),
    path(f"{P}cutover/gates/<int:gate_id>/", views.GateView.as_view(), name="cutover-gate"),
    path(
        f"{P}cutover/gates/<int:gate_id>/approve/",
        views.GateApproveView.as_view(),
        name="cutover-gate-approve",
    ),
    path(
        f"{P}cutover/gates/<int:gate_id>/withdraw/",
        views.GateWithdrawView.as_view(),
        name="cutover-gate-withdraw",
    ),
    path(f"{P}cutover/checks/<int:check_id>/", views.CheckView.as_view(), name="cutover-check"),
    path(f"{P}cutover/units/<int:unit_id>/", views.UnitView.as_view(), name="cutover-unit"),
    path(f"{P}rollbacks/", views.RollbackView.as_view(), name="project-rollbacks"),
    path(
        f"{P}notifications/webhooks/",
        views.EndpointListView.as_view(),
        name="notification-webhooks",
    ),
    path(
        f"{P}notifications/webhooks/<int:endpoint_id>/",
        views.EndpointDetailView.as_view(),
        name="notification-webhook",
    ),
    path(
        f"{P}notifications/deliveries/",
        views.DeliveryListView.as_view(),
        name="notification-deliveries",
    ),
    path(
        f"{P}notifications/email/",
        views.EmailRecipientsView.as_view(),
        name="notification-email",
    ),
]
