from django.urls import path

from apps.stores.api import views

urlpatterns = [
    path("stores/", views.StoreListCreateView.as_view(), name="store-list"),
    path("stores/<int:pk>/", views.StoreDetailView.as_view(), name="store-detail"),
]
