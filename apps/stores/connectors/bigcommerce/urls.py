"""Storefront URLs of BigCommerce records, as the APIs carry them.

Products and brands have `custom_url: {url, is_customized}`; categories read through the
category-trees API have `url: {path, is_customized}` (the older categories API used
`custom_url` too); v2 blog posts have `url`. All are paths on the storefront, which is not the
API host: callers join them to the store's storefront URL.
"""

from __future__ import annotations

from typing import Any


def _path(value: Any, key: str) -> str | None:
    if isinstance(value, dict):
        value = value.get(key)
    return value if isinstance(value, str) and value.strip() else None


def storefront_path(entity: str, raw: dict[str, Any]) -> str | None:
    """The record's storefront path ("/shoes/"), or None when it has none (orders, customers)."""
    if entity in ("products", "brands"):
        return _path(raw.get("custom_url"), "url")
    if entity == "categories":
        return _path(raw.get("url"), "path") or _path(raw.get("custom_url"), "url")
    if entity == "posts":
        return _path(raw.get("url"), "url")
    return None


#: The redirect `to.type` of a mapped record of each entity.
REDIRECT_TYPES = {
    "products": "product",
    "categories": "category",
    "brands": "brand",
    "posts": "post",
}
