"""HTTP endpoints of the emulated BigCommerce Catalog API v3 (products with inline variants).

Every view runs the same way: find the store and check the token, spend one request of the
store's quota (429 when spent), run the handler, and put the quota headers on the answer —
refusals included — as the platform does.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

from django.http import HttpRequest, HttpResponse, JsonResponse
from django.views.decorators.csrf import csrf_exempt

from apps.sandbox.bigcommerce import ratelimit, store
from apps.sandbox.bigcommerce.auth import Unauthorized, authenticate
from apps.sandbox.bigcommerce.errors import (
    METHOD_NOT_ALLOWED,
    RATE_LIMITED,
    ApiError,
    error_response,
)
from apps.sandbox.bigcommerce.validation import parse_json
from apps.sandbox.models import SandboxStore

Handler = Callable[..., HttpResponse]


def _with_headers(response: HttpResponse, budget: ratelimit.Budget) -> HttpResponse:
    for name, value in budget.headers().items():
        response[name] = value
    return response


def endpoint(methods: tuple[str, ...]) -> Callable[[Handler], Handler]:
    def decorate(handler: Handler) -> Handler:
        @csrf_exempt
        @functools.wraps(handler)
        def view(request: HttpRequest, slug: str, store_hash: str, **kwargs: Any) -> HttpResponse:
            try:
                sandbox = authenticate(request, slug, store_hash)
            except Unauthorized as exc:
                return _with_headers(exc.response(), ratelimit.peek(exc.store))
            except ApiError as exc:
                return exc.response()  # no such store: there is no quota to report
            budget = ratelimit.consume(sandbox)
            if not budget.allowed:
                return _with_headers(error_response(429, RATE_LIMITED), budget)
            if request.method not in methods:
                response: HttpResponse = error_response(405, METHOD_NOT_ALLOWED)
                response["Allow"] = ", ".join(methods)
                return _with_headers(response, budget)
            try:
                response = handler(request, sandbox, **kwargs)
            except ApiError as exc:
                response = exc.response()
            return _with_headers(response, budget)

        return view

    return decorate


def _one(data: dict[str, Any]) -> JsonResponse:
    return JsonResponse({"data": data, "meta": {}})


def _many(data: list[dict[str, Any]], meta: dict[str, Any]) -> JsonResponse:
    return JsonResponse({"data": data, "meta": meta})


@endpoint(("GET", "POST", "PUT", "DELETE"))
def products(request: HttpRequest, sandbox: SandboxStore) -> HttpResponse:
    if request.method == "GET":
        return _many(*store.list_products(sandbox, request.GET))
    if request.method == "POST":
        return _one(store.create_product(sandbox, parse_json(request)))
    if request.method == "PUT":
        return _many(store.update_products(sandbox, parse_json(request)), {})
    store.delete_products(sandbox, request.GET)
    return HttpResponse(status=204)


@endpoint(("GET", "PUT", "DELETE"))
def product(request: HttpRequest, sandbox: SandboxStore, product_id: int) -> HttpResponse:
    if request.method == "GET":
        return _one(store.get_product(sandbox, product_id, request.GET))
    if request.method == "PUT":
        return _one(store.update_product(sandbox, product_id, parse_json(request)))
    store.delete_product(sandbox, product_id)
    return HttpResponse(status=204)


@endpoint(("GET",))
def product_variants(request: HttpRequest, sandbox: SandboxStore, product_id: int) -> HttpResponse:
    return _many(*store.list_variants(sandbox, product_id, request.GET))
