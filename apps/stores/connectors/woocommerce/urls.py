"""Storefront URLs of WooCommerce records, as the APIs carry them or WordPress builds them.

wc/v3 products answer `permalink` and wp/v2 posts `link` (absolute URLs). Product terms answer
no URL at all, so they are built the way WordPress does with WooCommerce's default permalink
bases: categories `/product-category/<ancestor slugs>/<slug>/` (hierarchical), brands
`/brand/<slug>/`. Shops with custom bases are covered by a CSV or sitemap upload instead.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

CATEGORY_BASE = "product-category"
BRAND_BASE = "brand"


def _text(value: Any) -> str | None:
    return value if isinstance(value, str) and value.strip() else None


def category_path(raw: dict[str, Any], tree: dict[str, dict[str, Any]]) -> str | None:
    """`/product-category/parent/child/` from the term's slug and its ancestors' (a broken or
    cyclic parent chain stops where it breaks)."""
    slugs: list[str] = []
    seen: set[str] = set()
    term: dict[str, Any] | None = raw
    while term is not None and str(term.get("id")) not in seen:
        slug = _text(term.get("slug"))
        if slug is None:
            return None
        slugs.append(slug)
        seen.add(str(term.get("id")))
        parent = str(term.get("parent") or 0)
        term = tree.get(parent) if parent != "0" else None
    return f"/{CATEGORY_BASE}/{'/'.join(reversed(slugs))}/"


def storefront_url(
    entity: str, raw: dict[str, Any], categories: Callable[[], dict[str, dict[str, Any]]]
) -> str | None:
    """An absolute URL (products, posts) or a path on the site (terms); None for records
    without a page (customers, orders). `categories` gives the category tree when needed."""
    if entity == "products":
        return _text(raw.get("permalink"))
    if entity == "posts":
        return _text(raw.get("link"))
    if entity == "categories":
        return category_path(raw, categories())
    if entity == "brands":
        slug = _text(raw.get("slug"))
        return f"/{BRAND_BASE}/{slug}/" if slug else None
    return None
