# Included at /webhooks/ (migrator/urls.py). The receivers are called by the source store.
from django.urls import path

from apps.webhooks import views

app_name = "webhooks"
urlpatterns = [
    path("woocommerce/<str:token>/", views.receive_woocommerce, name="woocommerce"),
    path("bigcommerce/<str:token>/", views.receive_bigcommerce, name="bigcommerce"),
    path("projects/<int:pk>/", views.project_webhooks, name="project"),
    path("projects/<int:pk>/connect/", views.connect, name="connect"),
]
