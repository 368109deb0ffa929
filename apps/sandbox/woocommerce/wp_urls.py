"""wp/v2 routes under /sandbox/<slug>/wp-json/wp/v2/ (included by apps/sandbox/urls.py)."""

from django.urls import re_path

from apps.sandbox.woocommerce import wp_views

urlpatterns = [
    re_path(r"^posts/?$", wp_views.posts),
    re_path(r"^posts/(?P<object_id>\d+)/?$", wp_views.post),
    re_path(r"^tags/?$", wp_views.tags),
    re_path(r"^tags/(?P<object_id>\d+)/?$", wp_views.tag),
    re_path(r"^users/me/?$", wp_views.me),
    re_path(r"^users/?$", wp_views.users),
    re_path(r"^users/(?P<object_id>\d+)/?$", wp_views.user),
    re_path(r"^media/?$", wp_views.media),
    re_path(r"^media/(?P<object_id>\d+)/?$", wp_views.media_item),
    re_path(r"^(?P<rest>.*)$", wp_views.unknown_route),
]
