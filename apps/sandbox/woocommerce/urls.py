"""wc/v3 routes under /sandbox/<slug>/wp-json/wc/v3/ (WordPress routes take no trailing slash,
and tolerate one)."""

from django.urls import re_path

from apps.sandbox.woocommerce import views

urlpatterns = [
    re_path(r"^products/?$", views.products),
    re_path(r"^products/batch/?$", views.products_batch),
    re_path(r"^products/(?P<product_id>\d+)/?$", views.product),
    re_path(r"^products/(?P<product_id>\d+)/variations/?$", views.variations),
    re_path(r"^products/(?P<product_id>\d+)/variations/batch/?$", views.variations_batch),
    re_path(r"^products/(?P<product_id>\d+)/variations/(?P<variation_id>\d+)/?$", views.variation),
    re_path(r"^(?P<rest>.*)$", views.unknown_route),
]
