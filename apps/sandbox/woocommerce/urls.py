"""wc/v3 routes under /sandbox/<slug>/wp-json/wc/v3/ (WordPress routes take no trailing slash,
and tolerate one)."""

from django.urls import re_path

from apps.sandbox.woocommerce import views, webhooks

urlpatterns = [
    re_path(r"^products/?$", views.products),
    re_path(r"^products/batch/?$", views.products_batch),
    re_path(r"^products/(?P<product_id>\d+)/?$", views.product),
    re_path(r"^products/(?P<product_id>\d+)/variations/?$", views.variations),
    re_path(r"^products/(?P<product_id>\d+)/variations/batch/?$", views.variations_batch),
    re_path(r"^products/(?P<product_id>\d+)/variations/(?P<variation_id>\d+)/?$", views.variation),
    re_path(r"^products/categories/?$", views.categories),
    re_path(r"^products/categories/batch/?$", views.categories_batch),
    re_path(r"^products/categories/(?P<object_id>\d+)/?$", views.category),
    re_path(r"^products/brands/?$", views.brands),
    re_path(r"^products/brands/batch/?$", views.brands_batch),
    re_path(r"^products/brands/(?P<object_id>\d+)/?$", views.brand),
    re_path(r"^customers/?$", views.customers),
    re_path(r"^customers/batch/?$", views.customers_batch),
    re_path(r"^customers/(?P<object_id>\d+)/?$", views.customer),
    re_path(r"^orders/?$", views.orders),
    re_path(r"^orders/batch/?$", views.orders_batch),
    re_path(r"^orders/(?P<object_id>\d+)/?$", views.order),
    re_path(r"^webhooks/?$", webhooks.webhook_list),
    re_path(r"^webhooks/(?P<object_id>\d+)/?$", webhooks.webhook),
    re_path(r"^(?P<rest>.*)$", views.unknown_route),
]
