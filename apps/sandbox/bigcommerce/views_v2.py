"""v2 endpoints: orders and blog posts. Bare JSON arrays, 204 for an empty list, errors as
[{status, message}] (endpoint(v2=True) renders them)."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse

from apps.sandbox.bigcommerce import blog, orders
from apps.sandbox.bigcommerce.endpoint import endpoint, v2_array, v2_object
from apps.sandbox.bigcommerce.validation import parse_json
from apps.sandbox.models import SandboxStore


def _base(request: HttpRequest) -> str:
    return orders.base_url(request.path, request.build_absolute_uri)


@endpoint(("GET", "POST"), v2=True)
def order_list(request: HttpRequest, sandbox: SandboxStore) -> HttpResponse:
    if request.method == "POST":
        return v2_object(orders.create_order(sandbox, parse_json(request), _base(request)))
    return v2_array(orders.list_orders(sandbox, request.GET, _base(request)))


@endpoint(("GET",), v2=True)
def order_count(request: HttpRequest, sandbox: SandboxStore) -> HttpResponse:
    return v2_object(orders.count_orders(sandbox, request.GET))


@endpoint(("GET", "PUT", "DELETE"), v2=True)
def order(request: HttpRequest, sandbox: SandboxStore, order_id: int) -> HttpResponse:
    if request.method == "GET":
        return v2_object(orders.get_order(sandbox, order_id, _base(request)))
    if request.method == "PUT":
        return v2_object(
            orders.update_order(sandbox, order_id, parse_json(request), _base(request))
        )
    orders.archive_order(sandbox, order_id)
    return HttpResponse(status=204)


@endpoint(("GET",), v2=True)
def order_products(request: HttpRequest, sandbox: SandboxStore, order_id: int) -> HttpResponse:
    return v2_array(orders.list_lines(sandbox, order_id, request.GET))


@endpoint(("GET",), v2=True)
def order_shipping_addresses(
    request: HttpRequest, sandbox: SandboxStore, order_id: int
) -> HttpResponse:
    return v2_array(orders.list_shipping_addresses(sandbox, order_id, request.GET, _base(request)))


@endpoint(("GET",), v2=True)
def order_statuses(request: HttpRequest, sandbox: SandboxStore) -> HttpResponse:
    return v2_array(orders.list_statuses())


@endpoint(("GET", "POST"), v2=True)
def post_list(request: HttpRequest, sandbox: SandboxStore) -> HttpResponse:
    if request.method == "POST":
        return v2_object(blog.create_post(sandbox, parse_json(request)))
    return v2_array(blog.list_posts(sandbox, request.GET))


@endpoint(("GET",), v2=True)
def post_count(request: HttpRequest, sandbox: SandboxStore) -> HttpResponse:
    return v2_object(blog.count_posts(sandbox))


@endpoint(("GET", "PUT", "DELETE"), v2=True)
def post(request: HttpRequest, sandbox: SandboxStore, post_id: int) -> HttpResponse:
    if request.method == "GET":
        return v2_object(blog.get_post(sandbox, post_id))
    if request.method == "PUT":
        return v2_object(blog.update_post(sandbox, post_id, parse_json(request)))
    blog.delete_post(sandbox, post_id)
    return HttpResponse(status=204)
