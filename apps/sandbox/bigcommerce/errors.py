"""BigCommerce v3 error envelopes: `{"status", "title", "type", "errors": {field: message}}`.

Titles are the platform's own where we know them (clients match on them, e.g. retry with a
new name on "The product name is a duplicate"), so a rehearsal fails the way production would.
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
PRODUCT_NOT_FOUND = "The requested product was not found."
STORE_NOT_FOUND = "The requested store was not found."
UNAUTHORIZED = "Unauthorized"
RATE_LIMITED = "Too Many Requests"
METHOD_NOT_ALLOWED = "Method Not Allowed"
FILTER_REQUIRED = "A filter is required to delete products"


class ApiError(Exception):
    """A request the emulated API refuses; views turn it into the error envelope."""

    def __init__(self, status: int, title: str, errors: dict[str, str] | None = None) -> None:
        super().__init__(title)
        self.status = status
        self.title = title
        self.errors = errors or {}

    def response(self) -> JsonResponse:
        return error_response(self.status, self.title, self.errors)


def invalid(errors: dict[str, str]) -> ApiError:
    return ApiError(422, INVALID, errors)


def error_body(status: int, title: str, errors: dict[str, str] | None = None) -> dict[str, Any]:
    return {"status": status, "title": title, "type": ERROR_TYPE, "errors": errors or {}}


def error_response(status: int, title: str, errors: dict[str, str] | None = None) -> JsonResponse:
    return JsonResponse(error_body(status, title, errors), status=status)
