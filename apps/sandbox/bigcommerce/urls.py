# Mounted at sandbox/<slug>/stores/<store_hash>/ (apps/sandbox/urls.py): a connector's base URL
# is {server}/sandbox/<slug>, and it appends /stores/<hash>/v3/ as it would to the real API.
from django.urls import path

from apps.sandbox.bigcommerce import views

urlpatterns = [
    path("v3/catalog/products", views.products, name="bigcommerce-products"),
    path("v3/catalog/products/<int:product_id>", views.product, name="bigcommerce-product"),
    path(
        "v3/catalog/products/<int:product_id>/variants",
        views.product_variants,
        name="bigcommerce-product-variants",
    ),
]
