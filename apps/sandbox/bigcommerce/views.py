"""HTTP endpoints of the emulated BigCommerce Catalog API v3: products with inline variants,
images and custom fields. The request pipeline (auth, quota, errors) is in endpoint.py."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse

from apps.sandbox.bigcommerce import store
from apps.sandbox.bigcommerce.endpoint import endpoint, many, one
from apps.sandbox.bigcommerce.validation import parse_json
from apps.sandbox.models import SandboxStore


@endpoint(("GET", "POST", "PUT", "DELETE"))
def products(request: HttpRequest, sandbox: SandboxStore) -> HttpResponse:
    if request.method == "GET":
        return many(*store.list_products(sandbox, request.GET))
    if request.method == "POST":
        return one(store.create_product(sandbox, parse_json(request)))
    if request.method == "PUT":
        return many(store.update_products(sandbox, parse_json(request)), {})
    store.delete_products(sandbox, request.GET)
    return HttpResponse(status=204)


@endpoint(("GET", "PUT", "DELETE"))
def product(request: HttpRequest, sandbox: SandboxStore, product_id: int) -> HttpResponse:
    if request.method == "GET":
        return one(store.get_product(sandbox, product_id, request.GET))
    if request.method == "PUT":
        return one(store.update_product(sandbox, product_id, parse_json(request)))
    store.delete_product(sandbox, product_id)
    return HttpResponse(status=204)


@endpoint(("GET",))
def product_variants(request: HttpRequest, sandbox: SandboxStore, product_id: int) -> HttpResponse:
    return many(*store.list_variants(sandbox, product_id, request.GET))


@endpoint(("DELETE",))
def product_variant(
    request: HttpRequest, sandbox: SandboxStore, product_id: int, variant_id: int
) -> HttpResponse:
    store.delete_variant(sandbox, product_id, variant_id)
    return HttpResponse(status=204)


@endpoint(("DELETE",))
def product_option(
    request: HttpRequest, sandbox: SandboxStore, product_id: int, option_id: int
) -> HttpResponse:
    store.delete_option(sandbox, product_id, option_id)
    return HttpResponse(status=204)


@endpoint(("DELETE",))
def product_option_value(
    request: HttpRequest, sandbox: SandboxStore, product_id: int, option_id: int, value_id: int
) -> HttpResponse:
    store.delete_option_value(sandbox, product_id, option_id, value_id)
    return HttpResponse(status=204)
