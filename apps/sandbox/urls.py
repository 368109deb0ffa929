from django.urls import include, path

app_name = "sandbox"
urlpatterns = [
    # WooCommerce: {store}/wp-json/wc/v3/… ; BigCommerce: {store}/stores/{hash}/v3/…
    path("<slug:slug>/wp-json/wc/v3/", include("apps.sandbox.woocommerce.urls")),
    path("<slug:slug>/wp-json/wp/v2/", include("apps.sandbox.woocommerce.wp_urls")),
    path("<slug:slug>/stores/<str:store_hash>/", include("apps.sandbox.bigcommerce.urls")),
]
