"""The canonical record model that sits between platforms.

A connector turns its platform's raw record into one of these dicts (`to_canonical`) and back
(`from_canonical`). Values are plain JSON types; money is a decimal string with two places
("12.50"); timestamps are ISO 8601 UTC strings ("2026-05-01T10:00:00Z"); absent values are None;
lists whose order carries no meaning are sorted so equal content hashes equally.

References to other records (marked `ref` below) hold record ids *of the store the record is
in*: `to_canonical` gives source ids, and the engine replaces them with the mapped target ids
(RecordMap) before calling the target's `from_canonical`; an unmapped reference becomes None.
REFERENCES lists them, NATURAL_KEY names each entity's key for finding a record on the target.

category = {"name": str, "slug": str, "path": str,      # path: ancestor names and own name
            "parent": ref | None, "description": str,  #   joined by " > " (natural key)
            "sort_order": int, "image_url": str | None}
brand    = {"name": str (natural key), "slug": str, "image_url": str | None}
product  = {"sku": str (natural key; unique across products and variants), "name": str,
            "slug": str, "description": str, "status": "active" | "draft",
            "price": str, "sale_price": str | None, "stock": int | None (None: not tracked),
            "weight": str | None (decimal_text: "0.7", "2"),
            "categories": [ref, ...] (sorted), "brand": ref | None,
            "images": [{"url": str, "alt": str, "position": int}, ...] (by position),
            "custom_fields": [{"name": str, "value": str}, ...] (sorted by name, value),
            "options": [{"name": str, "values": [str, ...]}, ...],
            "variants": [{"sku": str, "price": str | None, "sale_price": str | None,
                          "stock": int | None, "options": {option name: value}}, ...]}
address  = {"type": "billing" | "shipping", "first_name": str, "last_name": str,
            "company": str, "line1": str, "line2": str, "city": str, "state": str,
            "postcode": str, "country": str (ISO 3166-1 alpha-2), "phone": str}
customer = {"email": str (natural key, lower case), "first_name": str, "last_name": str,
            "company": str, "phone": str, "accepts_marketing": bool,
            "addresses": [address, ...] (billing first, then shipping)}
order    = {"reference": str (natural key: the source order number), "status": one of
            ORDER_STATUSES, "currency": str (ISO 4217), "customer": ref | None (guest),
            "email": str, "billing": address | None, "shipping": address | None,
            "lines": [{"product": ref | None, "sku": str, "name": str, "quantity": int,
                       "price": str, "total": str}, ...],
            "subtotal": str, "shipping_total": str, "tax_total": str, "discount_total": str,
            "total": str, "created_at": str, "note": str}
post     = {"slug": str (natural key; the post's URL is /blog/<slug>/ or the platform's
            permalink), "title": str, "body": str (HTML), "summary": str, "author": str,
            "status": "published" | "draft", "published_at": str | None,
            "tags": [str, ...] (sorted), "image_url": str | None}
"""

from __future__ import annotations

import hashlib
import json
from decimal import Decimal, InvalidOperation
from typing import Any

ENTITIES = ("categories", "brands", "products", "customers", "orders", "posts")

NATURAL_KEY: dict[str, str] = {
    "categories": "path",
    "brands": "name",
    "products": "sku",
    "customers": "email",
    "orders": "reference",
    "posts": "slug",
}

# Reference fields per entity: "field" holds one ref, "field[]" a list of refs, and
# "list[].field" one ref in each element of a list.
REFERENCES: dict[str, dict[str, str]] = {
    "categories": {"parent": "categories"},
    "products": {"categories[]": "categories", "brand": "brands"},
    "orders": {"customer": "customers", "lines[].product": "products"},
}

ORDER_STATUSES = (
    "pending",
    "processing",
    "on_hold",
    "completed",
    "cancelled",
    "refunded",
    "failed",
)

MAX_PRICE = Decimal("1000000")


def content_hash(canonical: dict[str, Any]) -> str:
    """A stable digest of a canonical record: equal content, equal hash, whatever key order."""
    encoded = json.dumps(canonical, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(encoded.encode()).hexdigest()


def decimal_text(value: Any) -> str | None:
    """A platform number as a plain decimal string without trailing zeros (1.5, 2, 0): the
    canonical form of weights, so "0.70" and 0.7 are the same weight."""
    if value is None or value == "":
        return None
    try:
        amount = Decimal(str(value).strip())
    except InvalidOperation:
        raise ValueError(f"{value!r} is not a number") from None
    if not amount.is_finite():
        raise ValueError(f"{value!r} is not a number")
    formatted = format(amount.normalize(), "f")
    return "0" if formatted in ("-0", "0") else formatted


def money(value: Any) -> str | None:
    """Platform price (string, number, empty) → canonical decimal string, or None if empty."""
    if value is None or (isinstance(value, str) and value.strip() == ""):
        return None
    try:
        amount = Decimal(str(value).strip())
    except InvalidOperation:
        raise ValueError(f"price {value!r} is not a number") from None
    if not amount.is_finite():
        raise ValueError(f"price {value!r} is not a number")
    try:
        return str(amount.quantize(Decimal("0.01")))
    except InvalidOperation:  # more digits than the context holds (1e999)
        raise ValueError(f"price {value!r} is not a number a shop can hold") from None


def _check_price(label: str, value: str | None, problems: list[str]) -> None:
    if value is None:
        return
    amount = Decimal(value)
    if amount < 0:
        problems.append(f"{label} is negative ({value})")
    elif amount > MAX_PRICE:
        problems.append(f"{label} {value} is above the sanity limit {MAX_PRICE}")


def validate(entity: str, canonical: dict[str, Any]) -> list[str]:
    """The reasons a canonical record cannot be migrated; empty when it can."""
    if entity != "products":
        return []
    problems: list[str] = []
    if not (canonical.get("sku") or "").strip():
        problems.append("product has no SKU (the SKU is its natural key on the target)")
    if not (canonical.get("name") or "").strip():
        problems.append("product has no name")
    if canonical.get("price") is None:
        problems.append("product has no price")
    _check_price("price", canonical.get("price"), problems)
    _check_price("sale price", canonical.get("sale_price"), problems)
    seen = {canonical.get("sku")}
    for index, variant in enumerate(canonical.get("variants") or [], start=1):
        sku = (variant.get("sku") or "").strip()
        if not sku:
            problems.append(f"variant {index} has no SKU")
        elif sku in seen:
            problems.append(f"variant {index} repeats SKU {sku!r}")
        seen.add(sku)
        _check_price(f"variant {sku or index} price", variant.get("price"), problems)
        _check_price(f"variant {sku or index} sale price", variant.get("sale_price"), problems)
    return problems
