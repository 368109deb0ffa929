"""HTTP endpoints of the WooCommerce sandbox (wc/v3 products, variations, categories, brands,
customers, orders).

Plain Django views answering JSON exactly as WooCommerce does; the record logic lives in
store.py (products) and the resource modules, the collection queries in listing.py. Creates,
updates and deletes go through the same list-of-items path as the batch endpoints.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from functools import wraps
from typing import Any

from django.http import HttpRequest, HttpResponse, JsonResponse
from django.views.decorators.csrf import csrf_exempt

from apps.sandbox.models import SandboxStore
from apps.sandbox.woocommerce.auth import authenticate, find_store
from apps.sandbox.woocommerce.customers import CUSTOMER_LIST, CustomerStore
from apps.sandbox.woocommerce.errors import WCError, invalid_json, no_route
from apps.sandbox.woocommerce.listing import (
    Listing,
    ListSpec,
    filtered,
    only_fields,
    page_of,
    parse_query,
    run_query,
    values,
)
from apps.sandbox.woocommerce.orders import ORDER_LIST, OrderStore
from apps.sandbox.woocommerce.resources import ResourceStore
from apps.sandbox.woocommerce.store import PRODUCT, VARIATION, WooStore
from apps.sandbox.woocommerce.terms import BRAND, CATEGORY, TERM_LIST, TermStore

Handler = Callable[..., HttpResponse]

ITEM_ACTIONS = {"GET": "view", "PUT": "edit", "PATCH": "edit", "POST": "edit", "DELETE": "delete"}
COLLECTION_ACTIONS = {"GET": "list", "POST": "create"}
BATCH_ACTIONS = {"POST": "batch", "PUT": "batch", "PATCH": "batch"}


def endpoint(actions: dict[str, str]) -> Callable[[Handler], Handler]:
    """Route by method, authenticate, and turn WCError into WooCommerce's error answer."""

    def decorate(view: Handler) -> Handler:
        @csrf_exempt
        @wraps(view)
        def wrapper(request: HttpRequest, slug: str, **kwargs: Any) -> HttpResponse:
            try:
                action = actions.get(request.method or "")
                if action is None:
                    find_store(slug)
                    raise no_route()
                store = authenticate(request, slug, action)
                return view(request, store, **{k: int(v) for k, v in kwargs.items()})
            except WCError as exc:
                return exc.response()

        return wrapper

    return decorate


def _body(request: HttpRequest) -> Any:
    if not request.body.strip():
        return {}
    try:
        return json.loads(request.body)
    except (ValueError, UnicodeDecodeError) as exc:
        raise invalid_json(f"Syntax error: {exc}") from None


def _payload(request: HttpRequest) -> dict[str, Any]:
    body = _body(request)
    if not isinstance(body, dict):
        raise invalid_json("The body is not a JSON object.")
    return body


def _one(results: list[Any]) -> dict[str, Any]:
    result = results[0]
    if isinstance(result, WCError):
        raise result
    return result


def _forced(request: HttpRequest) -> bool:
    return request.GET.get("force", "").lower() in ("true", "1")


def _listing_response(
    request: HttpRequest, listing: Listing, items: list[Any] | None = None
) -> JsonResponse:
    shown = only_fields(listing.items if items is None else items, values(request.GET, "_fields"))
    response = JsonResponse(shown, safe=False)
    response["X-WP-Total"] = str(listing.total)
    response["X-WP-TotalPages"] = str(listing.pages)
    page, links = listing.query.page, []
    base = request.build_absolute_uri(request.path)
    params = request.GET.copy()
    if page > 1 and listing.pages:
        params["page"] = str(min(page - 1, listing.pages))
        links.append(f'<{base}?{params.urlencode()}>; rel="prev"')
    if page < listing.pages:
        params["page"] = str(page + 1)
        links.append(f'<{base}?{params.urlencode()}>; rel="next"')
    if links:
        response["Link"] = ", ".join(links)
    return response


@endpoint(COLLECTION_ACTIONS)
def products(request: HttpRequest, store: SandboxStore) -> HttpResponse:
    if request.method == "GET":
        return _listing_response(request, run_query(store, PRODUCT, parse_query(request.GET)))
    record = _one(WooStore(store).create_products([_payload(request)]))
    return JsonResponse(record, status=201)


@endpoint(ITEM_ACTIONS)
def product(request: HttpRequest, store: SandboxStore, product_id: int) -> HttpResponse:
    woo = WooStore(store)
    if request.method == "GET":
        return JsonResponse(woo.get(PRODUCT, product_id))
    if request.method == "DELETE":
        # No trash in the sandbox: a delete is always for good, as with `force=true`.
        return JsonResponse(_one(woo.delete_products([product_id])))
    payload = {**_payload(request), "id": product_id}
    return JsonResponse(_one(woo.update_products([payload])))


@endpoint(BATCH_ACTIONS)
def products_batch(request: HttpRequest, store: SandboxStore) -> HttpResponse:
    return JsonResponse(WooStore(store).batch(_body(request)))


@endpoint(COLLECTION_ACTIONS)
def variations(request: HttpRequest, store: SandboxStore, product_id: int) -> HttpResponse:
    woo = WooStore(store)
    parent = woo.product_row(product_id)
    if request.method == "GET":
        query = parse_query(request.GET)
        return _listing_response(request, run_query(store, VARIATION, query, parent.object_id))
    record = _one(woo.create_variations(parent, [_payload(request)]))
    return JsonResponse(record, status=201)


@endpoint(ITEM_ACTIONS)
def variation(
    request: HttpRequest, store: SandboxStore, product_id: int, variation_id: int
) -> HttpResponse:
    woo = WooStore(store)
    if request.method == "GET":
        return JsonResponse(woo.get(VARIATION, variation_id, parent_id=product_id))
    parent = woo.product_row(product_id)
    if request.method == "DELETE":
        return JsonResponse(_one(woo.delete_variations(parent, [variation_id])))
    payload = {**_payload(request), "id": variation_id}
    return JsonResponse(_one(woo.update_variations(parent, [payload])))


@endpoint(BATCH_ACTIONS)
def variations_batch(request: HttpRequest, store: SandboxStore, product_id: int) -> HttpResponse:
    woo = WooStore(store)
    parent = woo.product_row(product_id)
    return JsonResponse(woo.batch(_body(request), parent=parent))


# --- categories, brands, customers, orders -----------------------------------------------------

Factory = Callable[[SandboxStore], ResourceStore]


def resource_views(resource: str, factory: Factory, spec: ListSpec) -> tuple[Handler, ...]:
    """(collection, item, batch) views of one resource."""

    @endpoint(COLLECTION_ACTIONS)
    def collection(request: HttpRequest, store: SandboxStore) -> HttpResponse:
        if request.method == "GET":
            query = parse_query(request.GET, spec)
            return _listing_response(request, page_of(filtered(store, [resource], query), query))
        return JsonResponse(_one(factory(store).create([_payload(request)])), status=201)

    @endpoint(ITEM_ACTIONS)
    def item(request: HttpRequest, store: SandboxStore, object_id: int) -> HttpResponse:
        writer = factory(store)
        if request.method == "GET":
            return JsonResponse(writer.get(object_id))
        if request.method == "DELETE":
            return JsonResponse(_one(writer.delete([object_id], force=_forced(request))))
        return JsonResponse(_one(writer.update([{**_payload(request), "id": object_id}])))

    @endpoint(BATCH_ACTIONS)
    def batch(request: HttpRequest, store: SandboxStore) -> HttpResponse:
        return JsonResponse(factory(store).batch(_body(request)))

    return collection, item, batch


categories, category, categories_batch = resource_views(
    CATEGORY, lambda store: TermStore(store, CATEGORY), TERM_LIST
)
brands, brand, brands_batch = resource_views(
    BRAND, lambda store: TermStore(store, BRAND), TERM_LIST
)
customers, customer, customers_batch = resource_views("customer", CustomerStore, CUSTOMER_LIST)
orders, order, orders_batch = resource_views("order", OrderStore, ORDER_LIST)


@csrf_exempt
def unknown_route(request: HttpRequest, slug: str, rest: str = "") -> HttpResponse:
    try:
        find_store(slug)
        raise no_route()
    except WCError as exc:
        return exc.response()
