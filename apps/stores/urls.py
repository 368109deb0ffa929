from django.urls import path

from apps.stores import views

app_name = "stores"
urlpatterns = [
    path("", views.store_list, name="list"),
    path("new/", views.store_create, name="create"),
    path("<int:pk>/edit/", views.store_edit, name="edit"),
]
