from django.urls import include, path, re_path

from apps.sandbox import storefront

app_name = "sandbox"
urlpatterns = [
    # WooCommerce: {store}/wp-json/wc/v3/… ; BigCommerce: {store}/stores/{hash}/v3/…
    path("<slug:slug>/wp-json/wc/v3/", include("apps.sandbox.woocommerce.urls")),
    path("<slug:slug>/wp-json/wp/v2/", include("apps.sandbox.woocommerce.wp_urls")),
    path("<slug:slug>/stores/<str:store_hash>/", include("apps.sandbox.bigcommerce.urls")),
    # The Redirection plugin's CSV import (WooCommerce sandboxes), then the storefront: last,
    # since it answers every other path under the store (apps/sandbox/storefront.py).
    path(
        "<slug:slug>/wp-json/redirection/v1/import/file/<int:group_id>",
        storefront.redirection_import,
    ),
    path("<slug:slug>/", storefront.page),
    re_path(r"^(?P<slug>[-a-zA-Z0-9_]+)/(?P<path>.*)$", storefront.page),
]
