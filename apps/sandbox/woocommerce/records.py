"""The product and variation JSON the sandbox stores and serves (plain Python, no queries).

A record is kept as the exact JSON the API answers, so a listing is one query that returns the
stored documents. Everything derived (price, on_sale, stock_status, a variable product's
price range and `variations` id list, permalinks, links) is recomputed here on every write:
the views and the demo seeder both build records through these functions, so shapes never drift.
"""

from __future__ import annotations

import copy
import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from django.utils.text import slugify

TakeId = Callable[[], int]


@dataclass(frozen=True)
class Site:
    """Where a sandbox store lives, for permalinks and `_links`."""

    store_url: str

    @property
    def api_url(self) -> str:
        return f"{self.store_url}/wp-json/wc/v3"


def wp_date(moment: datetime) -> str:
    # WordPress answers seconds, no offset; sandbox sites run on UTC so local = GMT.
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S")


_BARE_AMPERSAND = re.compile(r"&(?!#\d+;|#x[0-9a-fA-F]+;|[A-Za-z][A-Za-z0-9]*;)")


def specialchars(value: str) -> str:
    """_wp_specialchars() without double encoding: what WordPress stores (and the REST API
    answers) for a term name, so "Harbor & Pine" reads back as "Harbor &amp; Pine"."""
    return _BARE_AMPERSAND.sub("&amp;", value).replace("<", "&lt;").replace(">", "&gt;")


def _decimal(value: Any) -> Decimal | None:
    if value is None or value == "":
        return None
    try:
        amount = Decimal(str(value).strip())
    except InvalidOperation:
        return None
    return amount if amount.is_finite() else None


def _active_price(regular: str, sale: str) -> tuple[str, bool]:
    """(price, on_sale): WooCommerce sells at the sale price only when it undercuts."""
    regular_amount, sale_amount = _decimal(regular), _decimal(sale)
    if sale_amount is not None and regular_amount is not None and sale_amount < regular_amount:
        return sale, True
    return regular, False


def _stock_status(data: dict[str, Any]) -> str:
    if not data.get("manage_stock"):
        return data.get("stock_status") or "instock"
    if (data.get("stock_quantity") or 0) > 0:
        return "instock"
    return "onbackorder" if data.get("backorders", "no") != "no" else "outofstock"


def _image(entry: dict[str, Any], now: str, take_id: TakeId) -> dict[str, Any]:
    return {
        "id": entry.get("id") or take_id(),
        "date_created": now,
        "date_created_gmt": now,
        "date_modified": now,
        "date_modified_gmt": now,
        "src": entry.get("src", ""),
        "name": entry.get("name", ""),
        "alt": entry.get("alt", ""),
    }


def _attributes(entries: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [
        {
            "id": entry.get("id", 0),
            "name": entry.get("name", ""),
            "position": entry.get("position", index),
            "visible": entry.get("visible", False),
            "variation": entry.get("variation", False),
            "options": list(entry.get("options", [])),
        }
        for index, entry in enumerate(entries)
    ]


def _chosen(entries: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [
        {"id": e.get("id", 0), "name": e.get("name", ""), "option": e.get("option", "")}
        for e in entries
    ]


def _meta(entries: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [{"id": i, "key": e["key"], "value": e.get("value")} for i, e in enumerate(entries, 1)]


def _apply_common(data: dict[str, Any], fields: dict[str, Any], now: str, take_id: TakeId) -> None:
    for name, value in fields.items():
        if name in ("categories", "brands", "tags"):
            data[name] = [
                {"id": t["id"], "name": t.get("name", ""), "slug": t.get("slug", "")} for t in value
            ]
        elif name == "images":
            data[name] = [_image(entry, now, take_id) for entry in value]
        elif name == "image":
            data[name] = _image(value, now, take_id) if value else None
        elif name == "dimensions":
            data[name] = {**data.get("dimensions", {}), **value}
        elif name == "meta_data":
            data[name] = _meta(value)
        elif name == "default_attributes":
            data[name] = _chosen(value)
        else:
            data[name] = value


def _common_defaults() -> dict[str, Any]:
    return {
        "description": "",
        "sku": "",
        "price": "",
        "regular_price": "",
        "sale_price": "",
        "on_sale": False,
        "purchasable": False,
        "virtual": False,
        "downloadable": False,
        "tax_status": "taxable",
        "tax_class": "",
        "manage_stock": False,
        "stock_quantity": None,
        "stock_status": "instock",
        "backorders": "no",
        "backorders_allowed": False,
        "backordered": False,
        "low_stock_amount": None,
        "weight": "",
        "dimensions": {"length": "", "width": "", "height": ""},
        "shipping_class": "",
        "shipping_class_id": 0,
        "menu_order": 0,
        "meta_data": [],
    }


def new_product(
    site: Site, object_id: int, fields: dict[str, Any], now: datetime, take_id: TakeId
) -> dict[str, Any]:
    """A product record from checked create fields (see schema.PRODUCT_SPEC)."""
    stamp = wp_date(now)
    data: dict[str, Any] = {
        "id": object_id,
        "name": "",
        "slug": "",
        "permalink": "",
        "date_created": stamp,
        "date_created_gmt": stamp,
        "date_modified": stamp,
        "date_modified_gmt": stamp,
        "type": "simple",
        "status": "publish",
        "featured": False,
        "catalog_visibility": "visible",
        "short_description": "",
        **_common_defaults(),
        "total_sales": 0,
        "sold_individually": False,
        "reviews_allowed": True,
        "purchase_note": "",
        "parent_id": 0,
        "categories": [],
        "brands": [],
        "tags": [],
        "images": [],
        "attributes": [],
        "default_attributes": [],
        "variations": [],
        "grouped_products": [],
    }
    return update_product(site, data, fields, now, take_id)


def update_product(
    site: Site, current: dict[str, Any], fields: dict[str, Any], now: datetime, take_id: TakeId
) -> dict[str, Any]:
    """The record after applying checked fields; `current` is left untouched."""
    data = copy.deepcopy(current)
    stamp = wp_date(now)
    fields = dict(fields)
    attributes = fields.pop("attributes", None)
    _apply_common(data, fields, stamp, take_id)
    if attributes is not None:
        # WooCommerce replaces the attribute set as a whole.
        data["attributes"] = _attributes(attributes)
    if not data["slug"]:
        data["slug"] = slugify(data["name"], allow_unicode=True) or f"product-{data['id']}"
    data["date_modified"] = data["date_modified_gmt"] = stamp
    _finish_product(site, data)
    return data


def _finish_product(site: Site, data: dict[str, Any]) -> None:
    data["permalink"] = f"{site.store_url}/product/{data['slug']}/"
    if data["type"] == "variable":
        # A variable product's prices live on its variations (see derive_variable).
        data["regular_price"] = data["sale_price"] = ""
        if not data["variations"]:
            data["price"], data["on_sale"] = "", False
            data["stock_status"] = _stock_status(data)
    else:
        data["price"], data["on_sale"] = _active_price(data["regular_price"], data["sale_price"])
        data["stock_status"] = _stock_status(data)
    data["purchasable"] = data["price"] != "" and data["status"] == "publish"
    data["backorders_allowed"] = data["backorders"] != "no"
    data["backordered"] = False
    data["_links"] = {
        "self": [{"href": f"{site.api_url}/products/{data['id']}"}],
        "collection": [{"href": f"{site.api_url}/products"}],
    }


def derive_variable(parent: dict[str, Any], variations: list[dict[str, Any]]) -> None:
    """Refresh a variable product from its variations, as WooCommerce's product sync does."""
    ordered = sorted(variations, key=lambda v: (v.get("menu_order", 0), v["id"]))
    parent["variations"] = [v["id"] for v in ordered]
    if parent["type"] != "variable":
        return
    priced = [(amount, v["price"]) for v in ordered if (amount := _decimal(v["price"])) is not None]
    parent["price"] = min(priced)[1] if priced else ""
    parent["on_sale"] = any(v["on_sale"] for v in ordered)
    parent["purchasable"] = parent["price"] != "" and parent["status"] == "publish"
    if ordered:
        statuses = {v["stock_status"] for v in ordered}
        parent["stock_status"] = next(
            (s for s in ("instock", "onbackorder") if s in statuses), "outofstock"
        )
    else:
        parent["price"], parent["on_sale"] = "", False
        parent["stock_status"] = _stock_status(parent)


def new_variation(
    site: Site,
    parent: dict[str, Any],
    object_id: int,
    fields: dict[str, Any],
    now: datetime,
    take_id: TakeId,
) -> dict[str, Any]:
    stamp = wp_date(now)
    data: dict[str, Any] = {
        "id": object_id,
        "parent_id": parent["id"],
        "type": "variation",
        "date_created": stamp,
        "date_created_gmt": stamp,
        "date_modified": stamp,
        "date_modified_gmt": stamp,
        "permalink": "",
        "status": "publish",
        **_common_defaults(),
        "image": None,
        "attributes": [],
    }
    return update_variation(site, parent, data, fields, now, take_id)


def update_variation(
    site: Site,
    parent: dict[str, Any],
    current: dict[str, Any],
    fields: dict[str, Any],
    now: datetime,
    take_id: TakeId,
) -> dict[str, Any]:
    data = copy.deepcopy(current)
    stamp = wp_date(now)
    fields = dict(fields)
    attributes = fields.pop("attributes", None)
    _apply_common(data, fields, stamp, take_id)
    if attributes is not None:
        data["attributes"] = _chosen(attributes)
    data["date_modified"] = data["date_modified_gmt"] = stamp
    data["price"], data["on_sale"] = _active_price(data["regular_price"], data["sale_price"])
    data["stock_status"] = _stock_status(data)
    data["purchasable"] = data["price"] != "" and data["status"] == "publish"
    data["backorders_allowed"] = data["backorders"] != "no"
    query = "&".join(
        f"attribute_{slugify(a['name'])}={slugify(a['option'])}" for a in data["attributes"]
    )
    data["permalink"] = parent["permalink"] + (f"?{query}" if query else "")
    products = f"{site.api_url}/products/{parent['id']}"
    data["_links"] = {
        "self": [{"href": f"{products}/variations/{data['id']}"}],
        "collection": [{"href": f"{products}/variations"}],
        "up": [{"href": products}],
    }
    return data
