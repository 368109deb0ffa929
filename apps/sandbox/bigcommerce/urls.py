# Mounted at sandbox/<slug>/stores/<store_hash>/ (apps/sandbox/urls.py): a connector's base URL
# is {server}/sandbox/<slug>, and it appends /stores/<hash>/v3/ (or /v2/) as it would to the
# real API.
from django.urls import path

from apps.sandbox.bigcommerce import (
    hooks,
    redirects,
    views,
    views_catalog,
    views_customers,
    views_v2,
)

urlpatterns = [
    # Catalog v3: products
    path("v3/catalog/products", views.products, name="bigcommerce-products"),
    path("v3/catalog/products/<int:product_id>", views.product, name="bigcommerce-product"),
    path(
        "v3/catalog/products/<int:product_id>/variants",
        views.product_variants,
        name="bigcommerce-product-variants",
    ),
    path("v3/catalog/products/<int:product_id>/variants/<int:variant_id>", views.product_variant),
    path("v3/catalog/products/<int:product_id>/options/<int:option_id>", views.product_option),
    path(
        "v3/catalog/products/<int:product_id>/options/<int:option_id>/values/<int:value_id>",
        views.product_option_value,
    ),
    path("v3/catalog/products/<int:product_id>/images", views_catalog.product_images),
    path("v3/catalog/products/<int:product_id>/images/<int:image_id>", views_catalog.product_image),
    path("v3/catalog/products/<int:product_id>/custom-fields", views_catalog.product_custom_fields),
    path(
        "v3/catalog/products/<int:product_id>/custom-fields/<int:field_id>",
        views_catalog.product_custom_field,
    ),
    # Catalog v3: category trees and brands
    path("v3/catalog/trees", views_catalog.trees),
    path("v3/catalog/trees/categories", views_catalog.tree_categories),
    path("v3/catalog/trees/<str:tree_id>/categories", views_catalog.category_tree),
    path("v3/catalog/brands", views_catalog.brand_list),
    path("v3/catalog/brands/<int:brand_id>", views_catalog.brand),
    # Customers v3 (concurrency-capped)
    path("v3/customers", views_customers.customer_list),
    path("v3/customers/addresses", views_customers.address_list),
    # 301 redirects v3
    path("v3/storefront/redirects", redirects.redirect_list),
    # Webhooks v3
    path("v3/hooks", hooks.hook_list),
    path("v3/hooks/<int:hook_id>", hooks.hook),
    # Orders and blog posts v2
    path("v2/orders", views_v2.order_list),
    path("v2/orders/count", views_v2.order_count),
    path("v2/orders/<int:order_id>", views_v2.order),
    path("v2/orders/<int:order_id>/products", views_v2.order_products),
    path("v2/orders/<int:order_id>/shipping_addresses", views_v2.order_shipping_addresses),
    path("v2/order_statuses", views_v2.order_statuses),
    path("v2/blog/posts", views_v2.post_list),
    path("v2/blog/posts/count", views_v2.post_count),
    path("v2/blog/posts/<int:post_id>", views_v2.post),
]
