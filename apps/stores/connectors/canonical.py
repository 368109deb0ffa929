"""The canonical record model that sits between platforms.

A connector turns its platform's raw record into one of these dicts and back. Values are plain
JSON types; money is a decimal string with two places ("12.50"); absent values are None.

product = {
    "sku": str,                 # natural key; required, unique across products and variants
    "name": str,                # required
    "description": str,
    "status": "active" | "draft",
    "price": str,               # required, >= 0
    "sale_price": str | None,
    "stock": int | None,        # None: stock not tracked
    "weight": str | None,       # decimal string, platform units
    "options": [{"name": str, "values": [str, ...]}, ...],
    "variants": [{"sku": str, "price": str | None, "sale_price": str | None,
                  "stock": int | None, "options": {option name: value}}, ...],
}
"""

from __future__ import annotations

import hashlib
import json
from decimal import Decimal, InvalidOperation
from typing import Any

NATURAL_KEY: dict[str, str] = {"products": "sku"}

MAX_PRICE = Decimal("1000000")


def content_hash(canonical: dict[str, Any]) -> str:
    """A stable digest of a canonical record: equal content, equal hash, whatever key order."""
    encoded = json.dumps(canonical, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(encoded.encode()).hexdigest()


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
    return str(amount.quantize(Decimal("0.01")))


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
