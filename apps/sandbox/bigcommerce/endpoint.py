"""How every emulated BigCommerce endpoint runs, v2 and v3 alike.

Find the store and check the token, spend one request of the store's quota (429 when spent),
check the method, take a concurrency slot where the API has a cap (429 with a short reset when
none is free), run the handler, and put the quota headers on the answer — refusals included —
as the platform does. Errors are rendered in the version's shape (v3 envelope, v2 bare array).
"""

from __future__ import annotations

import dataclasses
import functools
from collections.abc import Callable
from typing import Any

from django.http import HttpRequest, HttpResponse, JsonResponse
from django.views.decorators.csrf import csrf_exempt

from apps.sandbox.bigcommerce import concurrency, ratelimit
from apps.sandbox.bigcommerce.auth import Unauthorized, authenticate
from apps.sandbox.bigcommerce.errors import (
    CONCURRENCY_LIMITED,
    METHOD_NOT_ALLOWED,
    RATE_LIMITED,
    ApiError,
)

Handler = Callable[..., HttpResponse]


def with_headers(response: HttpResponse, budget: ratelimit.Budget) -> HttpResponse:
    for name, value in budget.headers().items():
        response[name] = value
    return response


def endpoint(
    methods: tuple[str, ...], *, v2: bool = False, gate: str | None = None
) -> Callable[[Handler], Handler]:
    """Wrap a handler(request, sandbox, **kwargs); `gate` names a concurrency-capped API."""

    def decorate(handler: Handler) -> Handler:
        @csrf_exempt
        @functools.wraps(handler)
        def view(request: HttpRequest, slug: str, store_hash: str, **kwargs: Any) -> HttpResponse:
            try:
                sandbox = authenticate(request, slug, store_hash)
            except Unauthorized as exc:
                return with_headers(exc.response(v2=v2), ratelimit.peek(exc.store))
            except ApiError as exc:
                return exc.response(v2=v2)  # no such store: there is no quota to report
            budget = ratelimit.consume(sandbox)
            if not budget.allowed:
                return with_headers(ApiError(429, RATE_LIMITED).response(v2=v2), budget)
            if request.method not in methods:
                refused = ApiError(405, METHOD_NOT_ALLOWED).response(v2=v2)
                refused["Allow"] = ", ".join(methods)
                return with_headers(refused, budget)
            slot = concurrency.acquire(sandbox, gate) if gate else None
            if gate and slot is None:
                # The window still has room: only the reset is short, so a client that waits
                # for X-Rate-Limit-Time-Reset-Ms retries as soon as a request has finished.
                busy = dataclasses.replace(budget, reset_ms=concurrency.RETRY_MS)
                return with_headers(ApiError(429, CONCURRENCY_LIMITED).response(v2=v2), busy)
            try:
                response = handler(request, sandbox, **kwargs)
            except ApiError as exc:
                response = exc.response(v2=v2)
            finally:
                if slot is not None:
                    concurrency.release(slot)
            return with_headers(response, budget)

        return view

    return decorate


def one(data: dict[str, Any]) -> JsonResponse:
    return JsonResponse({"data": data, "meta": {}})


def many(data: list[dict[str, Any]], meta: dict[str, Any]) -> JsonResponse:
    return JsonResponse({"data": data, "meta": meta})


def v2_object(data: dict[str, Any]) -> JsonResponse:
    return JsonResponse(data)


def v2_array(data: list[dict[str, Any]]) -> HttpResponse:
    """v2 lists are bare arrays, and an empty one is 204 No Content with no body at all."""
    if not data:
        return HttpResponse(status=204)
    return JsonResponse(data, safe=False)
