"""Canonical mapping of categories, brands, customers and orders (products: products.py,
posts: posts.py). References are this store's WooCommerce ids as strings.

Where each canonical field comes from:
- category: name (HTML-unescaped: WordPress answers "Home &amp; Garden"), slug, parent (0 →
  None), description, sort_order = menu_order, image_url = image.src, path = the names of the
  ancestors and the category joined by " > " (computed from the whole tree, which the
  connector reads once and caches).
- brand: name (unescaped), slug, image_url = image.src.
- customer: email trimmed and lower-cased, first_name / last_name, company and phone from
  billing, accepts_marketing from the meta entry `accepts_marketing` (WooCommerce has no
  consent field of its own; "yes" / "1" / "true" count), addresses = billing then shipping,
  each skipped when it has no name and no address line, city, state, postcode or country
  (a company or phone alone is the customer's, not an address).
- order: reference = meta `_migrator_reference` when this connector wrote the order, else the
  order number; status with "on-hold" → "on_hold"; customer = customer_id (0 → None, a guest);
  email = billing.email; lines: product = product_id (0 → None), sku (null → ""), name,
  quantity, price, total; subtotal = Σ line subtotals; tax_total = total_tax; created_at =
  date_created_gmt; note = customer_note.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from apps.stores.connectors.base import RecordInvalid
from apps.stores.connectors.canonical import ORDER_STATUSES
from apps.stores.connectors.woocommerce.common import (
    amount,
    listed,
    mapping,
    record,
    ref,
    required_amount,
    target_id,
    text,
    unescaped,
    utc,
    whole,
    wp_gmt,
)

REFERENCE_KEY = "_migrator_reference"
MARKETING_KEY = "accepts_marketing"
PATH_SEPARATOR = " > "
# Fields that make an address an address (company and phone alone do not).
_PLACE = (
    "first_name",
    "last_name",
    "address_1",
    "address_2",
    "city",
    "state",
    "postcode",
    "country",
)
CENTS = Decimal("0.01")
_STATUS_IN = {status.replace("_", "-"): status for status in ORDER_STATUSES}
_STATUS_OUT = {status: wc for wc, status in _STATUS_IN.items()}


# --- categories and brands -------------------------------------------------------------------


def _image_url(raw: dict[str, Any], who: str) -> str | None:
    image = raw.get("image")
    if image in (None, [], {}):
        return None
    if not isinstance(image, dict):
        raise RecordInvalid(f"{who}: image is not an object")
    return text(image, "src", who).strip() or None


def category_path(raw: dict[str, Any], tree: dict[str, dict[str, Any]]) -> str:
    """The names from the root down to this category, joined by " > "."""
    who = f"category {raw.get('id', '?')}"
    names = [unescaped(raw, "name", who)]
    seen = {str(raw.get("id"))}
    parent = ref(raw.get("parent"), "parent", who)
    while parent is not None:
        if parent in seen:
            raise RecordInvalid(f"{who}: its parents loop back to category {parent}")
        ancestor = tree.get(parent)
        if ancestor is None:
            raise RecordInvalid(f"{who}: its ancestor category {parent} does not exist")
        seen.add(parent)
        names.append(unescaped(ancestor, "name", who))
        parent = ref(ancestor.get("parent"), "parent", who)
    return PATH_SEPARATOR.join(reversed(names))


def category_to_canonical(raw: Any, tree: dict[str, dict[str, Any]]) -> dict[str, Any]:
    raw = record(raw, "category")
    who = f"category {raw.get('id', '?')}"
    name = unescaped(raw, "name", who)
    if not name.strip():
        raise RecordInvalid(f"{who}: the category has no name")
    menu_order = raw.get("menu_order")
    return {
        "name": name,
        "slug": text(raw, "slug", who),
        "path": category_path(raw, tree),
        "parent": ref(raw.get("parent"), "parent", who),
        "description": text(raw, "description", who),
        "sort_order": whole(menu_order, "menu_order", who) if menu_order is not None else 0,
        "image_url": _image_url(raw, who),
    }


def _image(url: str | None) -> dict[str, Any]:
    # An image without id or src removes the term's image on WooCommerce.
    return {"src": url} if url else {}


def category_from_canonical(canonical: dict[str, Any]) -> dict[str, Any]:
    payload = {
        "name": canonical.get("name") or "",
        "parent": target_id(canonical.get("parent")),
        "description": canonical.get("description") or "",
        "menu_order": int(canonical.get("sort_order") or 0),
        "image": _image(canonical.get("image_url")),
    }
    if canonical.get("slug"):
        payload["slug"] = canonical["slug"]
    return payload


def brand_to_canonical(raw: Any) -> dict[str, Any]:
    raw = record(raw, "brand")
    who = f"brand {raw.get('id', '?')}"
    name = unescaped(raw, "name", who)
    if not name.strip():
        raise RecordInvalid(f"{who}: the brand has no name")
    return {"name": name, "slug": text(raw, "slug", who), "image_url": _image_url(raw, who)}


def brand_from_canonical(canonical: dict[str, Any]) -> dict[str, Any]:
    payload = {"name": canonical.get("name") or "", "image": _image(canonical.get("image_url"))}
    if canonical.get("slug"):
        payload["slug"] = canonical["slug"]
    return payload


# --- addresses ---------------------------------------------------------------------------------


def address_to_canonical(raw: dict[str, Any], kind: str, who: str) -> dict[str, Any] | None:
    label = f"{who}, {kind}"
    fields = {name: text(raw, name, label).strip() for name in (*_PLACE, "company", "phone")}
    if not any(fields[name] for name in _PLACE):
        return None
    return {
        "type": kind,
        "first_name": fields["first_name"],
        "last_name": fields["last_name"],
        "company": fields["company"],
        "line1": fields["address_1"],
        "line2": fields["address_2"],
        "city": fields["city"],
        "state": fields["state"],
        "postcode": fields["postcode"],
        "country": fields["country"].upper(),
        "phone": fields["phone"],
    }


def address_from_canonical(address: dict[str, Any] | None) -> dict[str, str]:
    address = address or {}
    return {
        "first_name": address.get("first_name") or "",
        "last_name": address.get("last_name") or "",
        "company": address.get("company") or "",
        "address_1": address.get("line1") or "",
        "address_2": address.get("line2") or "",
        "city": address.get("city") or "",
        "state": address.get("state") or "",
        "postcode": address.get("postcode") or "",
        "country": address.get("country") or "",
        "phone": address.get("phone") or "",
    }


# --- customers ---------------------------------------------------------------------------------


def _meta(raw: dict[str, Any], key: str, who: str) -> Any:
    for entry in listed(raw, "meta_data", who):
        if isinstance(entry, dict) and entry.get("key") == key:
            return entry.get("value")
    return None


def customer_to_canonical(raw: Any) -> dict[str, Any]:
    raw = record(raw, "customer")
    who = f"customer {raw.get('id', '?')}"
    billing, shipping = mapping(raw, "billing", who), mapping(raw, "shipping", who)
    addresses = [
        address
        for address in (
            address_to_canonical(billing, "billing", who),
            address_to_canonical(shipping, "shipping", who),
        )
        if address is not None
    ]
    marketing = _meta(raw, MARKETING_KEY, who)
    return {
        "email": text(raw, "email", who).strip().lower(),
        "first_name": text(raw, "first_name", who).strip(),
        "last_name": text(raw, "last_name", who).strip(),
        "company": text(billing, "company", who).strip(),
        "phone": text(billing, "phone", who).strip(),
        "accepts_marketing": str(marketing).strip().lower() in ("yes", "1", "true"),
        "addresses": addresses,
    }


def _first(addresses: list[dict[str, Any]], kind: str) -> dict[str, Any] | None:
    return next((a for a in addresses if a.get("type") == kind), None)


def customer_from_canonical(canonical: dict[str, Any]) -> dict[str, Any]:
    """The canonical customer → a customers payload. WooCommerce keeps one billing and one
    shipping address: the first of each type is written. The customer's company and phone live
    on the billing address; they win over the billing address's own."""
    addresses = canonical.get("addresses") or []
    billing = address_from_canonical(_first(addresses, "billing"))
    billing["company"] = canonical.get("company") or billing["company"]
    billing["phone"] = canonical.get("phone") or billing["phone"]
    billing["email"] = canonical.get("email") or ""
    return {
        "email": canonical.get("email") or "",
        "first_name": canonical.get("first_name") or "",
        "last_name": canonical.get("last_name") or "",
        "billing": billing,
        "shipping": address_from_canonical(_first(addresses, "shipping")),
        "meta_data": [
            {"key": MARKETING_KEY, "value": "yes" if canonical.get("accepts_marketing") else "no"}
        ],
    }


# --- orders ------------------------------------------------------------------------------------


def order_reference(raw: dict[str, Any]) -> str:
    written = _meta(raw, REFERENCE_KEY, f"order {raw.get('id', '?')}")
    return str(written) if written not in (None, "") else str(raw.get("number") or raw.get("id"))


def _line(raw: Any, who: str) -> dict[str, Any]:
    if not isinstance(raw, dict):
        raise RecordInvalid(f"{who}: a line item is not an object")
    label = f"{who}, line {raw.get('id', '?')}"
    sku = raw.get("sku")
    return {
        "product": ref(raw.get("product_id"), "product_id", label),
        "sku": sku.strip() if isinstance(sku, str) else "",
        "name": text(raw, "name", label),
        "quantity": whole(raw.get("quantity", 0), "quantity", label),
        "price": required_amount(raw.get("price"), "price", label),
        "total": required_amount(raw.get("total"), "total", label),
    }


def order_to_canonical(raw: Any) -> dict[str, Any]:
    raw = record(raw, "order")
    who = f"order {raw.get('number') or raw.get('id', '?')}"
    status = raw.get("status")
    if status not in _STATUS_IN:
        raise RecordInvalid(f"{who}: status {status!r} is not one the migration carries")
    billing, shipping = mapping(raw, "billing", who), mapping(raw, "shipping", who)
    line_items = listed(raw, "line_items", who)
    subtotal = sum(
        (
            Decimal(amount(li.get("subtotal"), "subtotal", who) or "0")
            for li in line_items
            if isinstance(li, dict)
        ),
        Decimal("0"),
    )
    lines = [_line(li, who) for li in line_items]
    created = utc(raw.get("date_created_gmt"), "date_created_gmt", who)
    if created is None:
        raise RecordInvalid(f"{who}: the order has no creation date")
    return {
        "reference": order_reference(raw),
        "status": _STATUS_IN[status],
        "currency": text(raw, "currency", who).strip().upper(),
        "customer": ref(raw.get("customer_id"), "customer_id", who),
        "email": text(billing, "email", who).strip(),
        "billing": address_to_canonical(billing, "billing", who),
        "shipping": address_to_canonical(shipping, "shipping", who),
        "lines": lines,
        "subtotal": str(subtotal.quantize(CENTS)),
        "shipping_total": required_amount(raw.get("shipping_total"), "shipping_total", who),
        "tax_total": required_amount(raw.get("total_tax"), "total_tax", who),
        "discount_total": required_amount(raw.get("discount_total"), "discount_total", who),
        "total": required_amount(raw.get("total"), "total", who),
        "created_at": created,
        "note": text(raw, "customer_note", who),
    }


def order_from_canonical(canonical: dict[str, Any]) -> dict[str, Any]:
    """The canonical order → an orders payload.

    WooCommerce derives totals from the lines: each line's total and quantity are sent (its
    price follows), the order's discount rides on the first line's subtotal (discount_total =
    Σ subtotal - Σ total), its tax on the first line's total_tax, its shipping on one shipping
    line. The reference is kept in meta `_migrator_reference` (the number is WooCommerce's own)
    and the creation date in date_created_gmt.
    """
    lines = []
    for line in canonical.get("lines") or []:
        item: dict[str, Any] = {
            "product_id": target_id(line.get("product")),
            "name": line.get("name") or "",
            "quantity": int(line.get("quantity") or 0),
            "total": line.get("total") or "0.00",
            "subtotal": line.get("total") or "0.00",
        }
        if line.get("sku"):
            # WooCommerce resolves a line by SKU first (a variation's SKU finds the variation).
            item["sku"] = line["sku"]
        lines.append(item)
    discount = _cents(canonical.get("discount_total"))
    tax = canonical.get("tax_total") or "0.00"
    shipping_total = canonical.get("shipping_total") or "0.00"
    shipping_lines = []
    if _cents(shipping_total) or (not lines and _cents(tax)):
        shipping_lines.append(
            {"method_id": "migrated", "method_title": "Shipping", "total": shipping_total}
        )
    if lines:
        lines[0]["subtotal"] = _money(_cents(lines[0]["subtotal"]) + discount)
        lines[0]["total_tax"] = tax
    elif shipping_lines:
        shipping_lines[0]["total_tax"] = tax
    billing = address_from_canonical(canonical.get("billing"))
    billing["email"] = canonical.get("email") or ""
    return {
        "status": _STATUS_OUT.get(canonical.get("status") or "", "pending"),
        "currency": canonical.get("currency") or "",
        "customer_id": target_id(canonical.get("customer")),
        "billing": billing,
        "shipping": address_from_canonical(canonical.get("shipping")),
        "customer_note": canonical.get("note") or "",
        "line_items": lines,
        "shipping_lines": shipping_lines,
        "meta_data": [{"key": REFERENCE_KEY, "value": canonical.get("reference") or ""}],
        "date_created_gmt": wp_gmt(canonical.get("created_at")),
    }


def _cents(value: Any) -> Decimal:
    return Decimal(str(value or "0")).quantize(CENTS)


def _money(value: Decimal) -> str:
    return str(value.quantize(CENTS))
