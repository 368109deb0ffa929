"""Rows → the platform's JSON for products, variants and options."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from apps.sandbox.models import SandboxObject

# Keys kept in product rows' data that are not product fields.
INTERNAL = ("options", "images", "custom_fields")


def iso(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat(timespec="seconds")


def is_base(variant: SandboxObject) -> bool:
    return variant.sku == "" and not variant.data.get("option_values")


def _calculated(price: Any, sale_price: Any) -> Any:
    return sale_price if sale_price else price


def variant_json(variant: SandboxObject, product: SandboxObject) -> dict[str, Any]:
    data = variant.data
    base = is_base(variant)
    price = data.get("price")
    sale_price = data.get("sale_price")
    effective_price = price if price is not None else product.data.get("price")
    effective_sale = sale_price if sale_price is not None else product.data.get("sale_price")
    inventory = product.data.get("inventory_level", 0) if base else data.get("inventory_level", 0)
    return {
        "id": variant.object_id,
        "product_id": variant.parent_id,
        "sku": product.sku if base else variant.sku,
        "sku_id": None if base else variant.object_id,
        "price": price,
        "calculated_price": _calculated(effective_price, effective_sale),
        "sale_price": sale_price,
        "retail_price": data.get("retail_price"),
        "cost_price": data.get("cost_price"),
        "weight": data.get("weight"),
        "calculated_weight": data.get("weight")
        if data.get("weight") is not None
        else product.data.get("weight"),
        "inventory_level": inventory,
        "inventory_warning_level": data.get("inventory_warning_level", 0),
        "purchasing_disabled": data.get("purchasing_disabled", False),
        "option_values": data.get("option_values", []),
    }


def _option_json(option: dict[str, Any], product_id: int) -> dict[str, Any]:
    return {"product_id": product_id, **option}


def product_json(
    product: SandboxObject,
    *,
    variants: list[SandboxObject] | None = None,
    include_options: bool = False,
    include: set[str] | frozenset[str] = frozenset(),
    media: bool = False,
) -> dict[str, Any]:
    """A product as the platform serves it. Images and custom fields come with
    include=images / include=custom_fields, and always in answers to writes (`media`), as
    the platform echoes what a write set."""
    data = product.data
    fields = {key: value for key, value in data.items() if key not in INTERNAL}
    body: dict[str, Any] = {
        "id": product.object_id,
        "name": product.name,
        "type": fields.pop("type", "physical"),
        "sku": product.sku,
        **fields,
        "calculated_price": _calculated(data.get("price"), data.get("sale_price")),
        "date_created": iso(product.date_created),
        "date_modified": iso(product.date_modified),
    }
    if variants is not None:
        body["variants"] = [variant_json(variant, product) for variant in variants]
    for key in ("images", "custom_fields"):
        if media or key in include:
            body[key] = list(data.get(key, []))
    if include_options:
        body["options"] = [
            _option_json(option, product.object_id) for option in data.get("options", [])
        ]
    return body
