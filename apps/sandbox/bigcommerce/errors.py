"""BigCommerce error bodies, in the two shapes the platform uses.

- v3 (catalog, customers): an envelope `{"status", "title", "type", "errors": {field: message}}`.
- v2 (orders, blog posts): a bare JSON array `[{"status", "message"}, ...]`, one entry per problem.

Titles are the platform's own where we know them (clients match on them, e.g. retry with a
new name on "The product name is a duplicate"), so a rehearsal fails the way production would.
Handlers raise ApiError without knowing which API version serves them; the endpoint renders it
in its version's shape.
"""

from __future__ import annotations

from typing import Any

from django.http import JsonResponse

ERROR_TYPE = "https://developer.bigcommerce.com/api-docs/getting-started/api-status-codes"

INVALID = "JSON data is missing or invalid"
DUPLICATE_NAME = "The product name is a duplicate"
DUPLICATE_SKU = "The product sku is a duplicate"
DUPLICATE_VARIANT_SKU = "The variant sku is a duplicate"
DUPLICATE_OPTION_VALUES = "Variant with the same option values set exists"
CONFLICT = "The product conflicts with another product"
TOO_LARGE = "The request payload is too large. The maximum items allowed in the array is 10."
CUSTOMERS_TOO_LARGE = (
    "The request payload is too large. The maximum number of items allowed in the array is 10."
)
PRODUCT_NOT_FOUND = "The requested product was not found."
STORE_NOT_FOUND = "The requested store was not found."
NOT_FOUND = "The requested resource was not found."
UNAUTHORIZED = "Unauthorized"
RATE_LIMITED = "Too Many Requests"
CONCURRENCY_LIMITED = (
    "Too Many Requests: at most 3 concurrent requests to this API are allowed per store."
)
METHOD_NOT_ALLOWED = "Method Not Allowed"
FILTER_REQUIRED = "A filter is required to delete products"
DUPLICATE_CATEGORY = (
    "A category with the same name already exists within the given category tree or "
    "within the given parent category."
)
DUPLICATE_BRAND = (
    "Brand was in conflict with another brand. This is the result of duplicate unique fields "
    "such as name."
)
CREATE_CUSTOMERS_FAILED = "Create customers failed."
UPDATE_CUSTOMERS_FAILED = "Update customers failed."
# v2: a field problem reads "The field 'billing_address.zip' is invalid: …".
V2_INVALID = "The field is invalid."
DUPLICATE_POST_URL = "The URL is already in use by another blog post."


class ApiError(Exception):
    """A request the emulated API refuses; views turn it into the version's error body."""

    def __init__(self, status: int, title: str, errors: dict[str, str] | None = None) -> None:
        super().__init__(title)
        self.status = status
        self.title = title
        self.errors = errors or {}

    def response(self, *, v2: bool = False) -> JsonResponse:
        if v2:
            return v2_error_response(self.status, self.title, self.errors)
        return error_response(self.status, self.title, self.errors)


def invalid(errors: dict[str, str]) -> ApiError:
    return ApiError(422, INVALID, errors)


def v2_invalid(errors: dict[str, str]) -> ApiError:
    return ApiError(400, V2_INVALID, errors)


def not_found() -> ApiError:
    return ApiError(404, NOT_FOUND)


def error_body(status: int, title: str, errors: dict[str, str] | None = None) -> dict[str, Any]:
    return {"status": status, "title": title, "type": ERROR_TYPE, "errors": errors or {}}


def error_response(status: int, title: str, errors: dict[str, str] | None = None) -> JsonResponse:
    return JsonResponse(error_body(status, title, errors), status=status)


def v2_error_body(
    status: int, title: str, errors: dict[str, str] | None = None
) -> list[dict[str, Any]]:
    if not errors:
        return [{"status": status, "message": title}]
    if title == V2_INVALID:
        return [
            {"status": status, "message": f"The field '{field}' is invalid: {reason}"}
            for field, reason in errors.items()
        ]
    return [
        {"status": status, "message": f"{title} ({field}: {reason})"}
        for field, reason in errors.items()
    ]


def v2_error_response(
    status: int, title: str, errors: dict[str, str] | None = None
) -> JsonResponse:
    return JsonResponse(v2_error_body(status, title, errors), status=status, safe=False)
