"""Catalog v3 endpoints beside products: category trees, brands, product images and custom
fields."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse, JsonResponse

from apps.sandbox.bigcommerce import brands, categories, media
from apps.sandbox.bigcommerce.endpoint import endpoint, many, one
from apps.sandbox.bigcommerce.query import pagination, paging
from apps.sandbox.bigcommerce.validation import parse_json
from apps.sandbox.models import SandboxStore


@endpoint(("GET",))
def trees(request: HttpRequest, sandbox: SandboxStore) -> HttpResponse:
    return many(*categories.list_trees(request.GET))


@endpoint(("GET", "POST", "PUT", "DELETE"))
def tree_categories(request: HttpRequest, sandbox: SandboxStore) -> HttpResponse:
    if request.method == "GET":
        return many(*categories.list_categories(sandbox, request.GET))
    if request.method == "POST":
        status, body = categories.create_categories(sandbox, parse_json(request))
        return JsonResponse(body, status=status)
    if request.method == "PUT":
        status, body = categories.update_categories(sandbox, parse_json(request))
        return JsonResponse(body, status=status)
    categories.delete_categories(sandbox, request.GET)
    return HttpResponse(status=204)


@endpoint(("GET",))
def category_tree(request: HttpRequest, sandbox: SandboxStore, tree_id: str) -> HttpResponse:
    return JsonResponse(
        {"data": categories.category_tree(sandbox, tree_id, request.GET), "meta": {}}
    )


@endpoint(("GET", "POST", "DELETE"))
def brand_list(request: HttpRequest, sandbox: SandboxStore) -> HttpResponse:
    if request.method == "GET":
        return many(*brands.list_brands(sandbox, request.GET))
    if request.method == "POST":
        return one(brands.create_brand(sandbox, parse_json(request)))
    brands.delete_brands(sandbox, request.GET)
    return HttpResponse(status=204)


@endpoint(("GET", "PUT", "DELETE"))
def brand(request: HttpRequest, sandbox: SandboxStore, brand_id: int) -> HttpResponse:
    if request.method == "GET":
        return one(brands.get_brand(sandbox, brand_id))
    if request.method == "PUT":
        return one(brands.update_brand(sandbox, brand_id, parse_json(request)))
    brands.delete_brand(sandbox, brand_id)
    return HttpResponse(status=204)


def _entries(
    request: HttpRequest, sandbox: SandboxStore, product_id: int, key: str
) -> HttpResponse:
    if request.method == "POST":
        return one(media.add_entry(sandbox, product_id, key, parse_json(request)))
    entries = media.list_entries(sandbox, product_id, key)
    page, limit = paging(request.GET, 250)
    chunk = entries[(page - 1) * limit : page * limit]
    return many(chunk, pagination(len(entries), len(chunk), page, limit, request.GET))


def _entry(
    request: HttpRequest, sandbox: SandboxStore, product_id: int, key: str, entry_id: int
) -> HttpResponse:
    if request.method == "GET":
        return one(media.get_entry(sandbox, product_id, key, entry_id))
    if request.method == "PUT":
        return one(media.change_entry(sandbox, product_id, key, entry_id, parse_json(request)))
    media.delete_entry(sandbox, product_id, key, entry_id)
    return HttpResponse(status=204)


@endpoint(("GET", "POST"))
def product_images(request: HttpRequest, sandbox: SandboxStore, product_id: int) -> HttpResponse:
    return _entries(request, sandbox, product_id, "images")


@endpoint(("GET", "PUT", "DELETE"))
def product_image(
    request: HttpRequest, sandbox: SandboxStore, product_id: int, image_id: int
) -> HttpResponse:
    return _entry(request, sandbox, product_id, "images", image_id)


@endpoint(("GET", "POST"))
def product_custom_fields(
    request: HttpRequest, sandbox: SandboxStore, product_id: int
) -> HttpResponse:
    return _entries(request, sandbox, product_id, "custom_fields")


@endpoint(("GET", "PUT", "DELETE"))
def product_custom_field(
    request: HttpRequest, sandbox: SandboxStore, product_id: int, field_id: int
) -> HttpResponse:
    return _entry(request, sandbox, product_id, "custom_fields", field_id)
