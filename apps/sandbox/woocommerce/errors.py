"""WordPress / WooCommerce REST errors: `{"code", "message", "data": {"status", …}}`.

Codes and messages follow WordPress core and WooCommerce so a client written against a real shop
branches the same way against the sandbox.
"""

from __future__ import annotations

from typing import Any

from django.http import JsonResponse


class WCError(Exception):
    def __init__(self, code: str, message: str, status: int = 400, **data: Any) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.status = status
        self.data = data

    def body(self) -> dict[str, Any]:
        data = {"status": self.status, **self.data}
        return {"code": self.code, "message": self.message, "data": data}

    def response(self) -> JsonResponse:
        return JsonResponse(self.body(), status=self.status)


def invalid_params(params: dict[str, str]) -> WCError:
    """WordPress's answer when arguments fail the endpoint's schema."""
    return WCError(
        "rest_invalid_param", f"Invalid parameter(s): {', '.join(params)}", 400, params=params
    )


def invalid_json(reason: str) -> WCError:
    # WordPress passes PHP's json_last_error() along; 4 is JSON_ERROR_SYNTAX.
    return WCError(
        "rest_invalid_json",
        "Invalid JSON body passed.",
        400,
        json_error_code=4,
        json_error_message=reason,
    )


def invalid_id(resource: str, status: int = 404) -> WCError:
    # WooCommerce builds the code from the post type: product / product_variation.
    post_type = "product_variation" if resource == "variation" else "product"
    return WCError(f"woocommerce_rest_{post_type}_invalid_id", "Invalid ID.", status)


def duplicate_sku(holder_id: int | None) -> WCError:
    data = {"resource_id": holder_id} if holder_id is not None else {}
    return WCError("product_invalid_sku", "Invalid or duplicated SKU.", 400, **data)


def no_route() -> WCError:
    return WCError("rest_no_route", "No route was found matching the URL and request method.", 404)


def too_many_items(limit: int) -> WCError:
    return WCError(
        "woocommerce_rest_request_entity_too_large",
        f"Unable to accept more than {limit} items for this request.",
        413,
    )


def item_error(item_id: int, error: WCError) -> dict[str, Any]:
    """One failed entry inside a batch answer (the batch itself still answers 200)."""
    return {"id": item_id, "error": error.body()}
