"""Products: WooCommerce's product JSON with its variations embedded under `variations_data`
(WooCommerce serves them from a separate endpoint), the canonical mapping, and writes —
`products/batch` (at most 100 a request), then each variable product's variations through
`products/<id>/variations/batch`.

Mapping decisions (canonical ← WooCommerce):
- categories: the ids of `categories`, as strings, sorted; brand: the first of `brands`
  (WooCommerce 9.6+ core brands allow several; the canonical model keeps one);
- images: `images` in their order, position = index, url = src;
- custom_fields: the product's descriptive attributes (those not used for variations, such as
  "Material: Linen"), one field per value — they are what a shop shows as specifications and
  what other platforms call custom fields. meta_data is left out: it holds plugins' internals.
"""

from __future__ import annotations

from decimal import Decimal, InvalidOperation
from typing import Any

from apps.stores.connectors.base import ConnectorError, RecordInvalid, WriteItem, WriteResult
from apps.stores.connectors.canonical import decimal_text
from apps.stores.connectors.woocommerce.common import (
    BATCH_LIMIT,
    answers,
    chunks,
    error_message,
    error_status,
    failed,
    header_int,
    item_failed,
    ref,
    target_id,
)
from apps.stores.connectors.woocommerce.common import amount as _money
from apps.stores.connectors.woocommerce.common import listed as _list
from apps.stores.connectors.woocommerce.common import text as _text

VARIATIONS_KEY = "variations_data"


class ProductsMixin:
    """The product half of WooCommerceConnector (needs `self._http` and `self._get_list`)."""

    def _variations(self, product_id: Any) -> list[dict[str, Any]]:
        path = f"products/{product_id}/variations"
        found: list[dict[str, Any]] = []
        page = 1
        while True:
            params = {"per_page": BATCH_LIMIT, "page": page, "orderby": "id", "order": "asc"}
            batch, response = self._get_list(path, params)
            found.extend(batch)
            pages = header_int(response, "X-WP-TotalPages") or 1
            if page >= pages or not batch:
                return found
            page += 1

    def _embed(self, products: list[dict[str, Any]]) -> list[dict[str, Any]]:
        for product in products:
            # `variations` lists the ids: no request for simple products or empty variables.
            has_variations = product.get("type") == "variable" and product.get("variations")
            product[VARIATIONS_KEY] = self._variations(product["id"]) if has_variations else []
        return products

    def _write_products(self, op: str, items: list[WriteItem]) -> list[WriteResult]:
        results: dict[int, WriteResult] = {}
        sendable: list[tuple[int, WriteItem, dict[str, Any]]] = []
        for index, item in enumerate(items):
            payload = {k: v for k, v in item.payload.items() if k != "variations"}
            if op == "update":
                if not str(item.target_id or "").isdigit():
                    results[index] = WriteResult(
                        ref=item.ref,
                        ok=False,
                        error=f"target id {item.target_id!r} is not a WooCommerce product id",
                    )
                    continue
                payload["id"] = int(item.target_id)
            sendable.append((index, item, payload))
        sent_any = False
        for chunk in chunks(sendable, BATCH_LIMIT):
            try:
                body, _ = self._http.json(
                    "POST", "products/batch", json={op: [payload for _, _, payload in chunk]}
                )
            except ConnectorError as exc:
                if not sent_any:
                    raise
                # Earlier chunks were written: answer for every item rather than lose them.
                for index, item, _ in chunk:
                    results[index] = failed(item.ref, exc)
                continue
            sent_any = True
            for (index, item, _), answer in zip(chunk, answers(body, op, len(chunk)), strict=True):
                results[index] = self._after_parent(op, item, answer)
        return [results[i] for i in range(len(items))]

    def _after_parent(self, op: str, item: WriteItem, answer: dict[str, Any]) -> WriteResult:
        """The product's result once its variations (if the payload has a list) are written."""
        if answer.get("error"):
            return item_failed(item.ref, answer["error"])
        product_id = answer.get("id")
        wanted = item.payload.get("variations")
        record = dict(answer)
        if wanted is None:
            record[VARIATIONS_KEY] = []
            return WriteResult(item.ref, ok=True, target_id=str(product_id), record=record)
        try:
            existing = self._variations(product_id) if answer.get("variations") else []
            variations, problems = self._sync_variations(product_id, wanted, existing)
        except ConnectorError as exc:
            # Which variations made it is unknown: no record, so nothing is hashed from a guess.
            return WriteResult(
                item.ref,
                ok=False,
                target_id=str(product_id),
                error=f"product {product_id} was {op}d but its variations were not: {exc}",
                status=exc.status,
                retryable=exc.retryable,
                extra={"partial": True},
            )
        record[VARIATIONS_KEY] = variations
        if problems:
            statuses = [status for _, status in problems if status]
            return WriteResult(
                item.ref,
                ok=False,
                target_id=str(product_id),
                record=record,
                error="; ".join(message for message, _ in problems),
                status=max(statuses) if statuses else None,
                retryable=any(status >= 500 for status in statuses),
                extra={"partial": True},
            )
        return WriteResult(item.ref, ok=True, target_id=str(product_id), record=record)

    def _sync_variations(
        self, product_id: Any, wanted: list[dict[str, Any]], existing: list[dict[str, Any]]
    ) -> tuple[list[dict[str, Any]], list[tuple[str, int | None]]]:
        """Make the product's variations match `wanted`: same SKU → update, new → create,
        gone → delete. Returns the variations now on the product and the per-item problems."""
        by_sku = {v.get("sku"): v for v in existing if v.get("sku")}
        by_options = {_options_key(v): v for v in existing if not v.get("sku")}
        creates, updates, kept_ids = [], [], set()
        for variation in wanted:
            sku = variation.get("sku")
            # Variations are matched by SKU; one without a SKU by its option values.
            match = by_sku.get(sku) if sku else by_options.get(_options_key(variation))
            if match is not None and match["id"] not in kept_ids:
                kept_ids.add(match["id"])
                updates.append({**variation, "id": match["id"]})
            else:
                creates.append(variation)
        deletes = [v["id"] for v in existing if v["id"] not in kept_ids]
        path = f"products/{product_id}/variations/batch"
        now: dict[Any, dict[str, Any]] = {}
        problems: list[tuple[str, int | None]] = []
        ops = [("create", c) for c in creates] + [("update", u) for u in updates]
        ops += [("delete", d) for d in deletes]
        for chunk in chunks(ops, BATCH_LIMIT):
            body: dict[str, list[Any]] = {}
            for op, value in chunk:
                body.setdefault(op, []).append(value)
            answer, _ = self._http.json("POST", path, json=body)
            for op, values in body.items():
                for sent, got in zip(values, answers(answer, op, len(values)), strict=True):
                    label = sent if op == "delete" else sent.get("sku") or sent.get("id") or "new"
                    if got.get("error"):
                        error = got["error"]
                        message = f"variation {label}: {error_message(error)}"
                        problems.append((message, error_status(error)))
                    elif op != "delete":
                        now[got["id"]] = got
        for variation in existing:
            if variation["id"] in kept_ids and variation["id"] not in now:
                now[variation["id"]] = variation  # its update failed: it is still there as it was
        return [now[k] for k in sorted(now, key=lambda i: int(i))], problems


def _options_key(variation: dict[str, Any]) -> tuple:
    return tuple(
        sorted((a.get("name"), a.get("option")) for a in variation.get("attributes") or [])
    )


# --- canonical mapping ---------------------------------------------------------------------


def _label(raw: dict[str, Any]) -> str:
    sku = raw.get("sku")
    return f"product {raw.get('id', '?')}" + (f" (SKU {sku})" if sku else "")


def _stock(record: dict[str, Any], who: str) -> int | None:
    # "parent" (a variation following its product's stock) and False mean: not tracked here.
    if record.get("manage_stock") is not True:
        return None
    quantity = record.get("stock_quantity")
    if quantity is None:
        return 0
    if isinstance(quantity, bool):
        raise RecordInvalid(f"{who}: stock_quantity {quantity!r} is not a whole number")
    try:
        amount = Decimal(str(quantity))
    except InvalidOperation:
        raise RecordInvalid(f"{who}: stock_quantity {quantity!r} is not a whole number") from None
    if not amount.is_finite() or amount != amount.to_integral_value():
        raise RecordInvalid(f"{who}: stock_quantity {quantity!r} is not a whole number")
    return int(amount)


def _weight(raw: dict[str, Any], who: str) -> str | None:
    value = raw.get("weight")
    if value is None or str(value).strip() == "":
        return None
    try:
        return decimal_text(value)
    except ValueError:
        raise RecordInvalid(f"{who}: weight {value!r} is not a number") from None


def _variant(variation: Any, who: str) -> dict[str, Any]:
    if not isinstance(variation, dict):
        raise RecordInvalid(f"{who}: a variation is not a JSON object")
    label = f"{who}, variation {variation.get('id', '?')}"
    options: dict[str, str] = {}
    for attribute in _list(variation, "attributes", label):
        if not isinstance(attribute, dict) or not isinstance(attribute.get("name"), str):
            raise RecordInvalid(f"{label}: an attribute has no name")
        options[attribute["name"]] = str(attribute.get("option") or "")
    return {
        "sku": _text(variation, "sku", label).strip(),
        "price": _money(variation.get("regular_price"), "regular_price", label),
        "sale_price": _money(variation.get("sale_price"), "sale_price", label),
        "stock": _stock(variation, label),
        "options": options,
    }


def _terms(raw: dict[str, Any], field: str, who: str) -> list[str]:
    ids = []
    for term in _list(raw, field, who):
        if not isinstance(term, dict):
            raise RecordInvalid(f"{who}: an entry of {field} is not an object")
        found = ref(term.get("id"), f"{field} id", who)
        if found is not None:
            ids.append(found)
    return ids


def _images(raw: dict[str, Any], who: str) -> list[dict[str, Any]]:
    images = []
    for position, image in enumerate(_list(raw, "images", who)):
        if not isinstance(image, dict):
            raise RecordInvalid(f"{who}: an image is not an object")
        url = _text(image, "src", who).strip()
        if url:
            images.append({"url": url, "alt": _text(image, "alt", who), "position": position})
    return images


def _custom_fields(attributes: list[dict[str, Any]], who: str) -> list[dict[str, str]]:
    fields = []
    for attribute in attributes:
        if attribute.get("variation"):
            continue
        name = attribute.get("name")
        if not isinstance(name, str):
            raise RecordInvalid(f"{who}: a descriptive attribute has no name")
        values = attribute.get("options") or []
        if not isinstance(values, list):
            raise RecordInvalid(f"{who}: options of attribute {name!r} is not a list")
        fields.extend({"name": name, "value": str(value)} for value in values)
    return sorted(fields, key=lambda f: (f["name"], f["value"]))


def product_to_canonical(raw: dict[str, Any]) -> dict[str, Any]:
    """A WooCommerce product (with `variations_data`) → the canonical product."""
    if not isinstance(raw, dict):
        raise RecordInvalid("the product record is not a JSON object")
    who = _label(raw)
    variants = [_variant(v, who) for v in _list(raw, VARIATIONS_KEY, who)]
    options = []
    attributes = [a for a in _list(raw, "attributes", who) if isinstance(a, dict)]
    attributes.sort(key=lambda a: a.get("position") or 0)
    for attribute in attributes:
        if not attribute.get("variation"):
            continue  # a descriptive attribute (e.g. Material): a custom field, below
        if not isinstance(attribute.get("name"), str):
            raise RecordInvalid(f"{who}: a variation attribute has no name")
        values = attribute.get("options") or []
        if not isinstance(values, list):
            raise RecordInvalid(f"{who}: options of attribute {attribute['name']!r} is not a list")
        options.append({"name": attribute["name"], "values": [str(v) for v in values]})
    price = _money(raw.get("regular_price"), "regular_price", who)
    sale_price = _money(raw.get("sale_price"), "sale_price", who)
    if raw.get("type") == "variable":
        # Variable products carry no price of their own: the cheapest variant stands for it.
        prices = [Decimal(v["price"]) for v in variants if v["price"] is not None]
        price = price or (str(min(prices)) if prices else _money(raw.get("price"), "price", who))
        sale_price = None
    brands = _terms(raw, "brands", who)
    return {
        "sku": _text(raw, "sku", who).strip(),
        "name": _text(raw, "name", who),
        "slug": _text(raw, "slug", who),
        "description": _text(raw, "description", who),
        "status": "active" if raw.get("status") == "publish" else "draft",
        "price": price,
        "sale_price": sale_price,
        "stock": _stock(raw, who),
        "weight": _weight(raw, who),
        "categories": sorted(set(_terms(raw, "categories", who))),
        "brand": brands[0] if brands else None,
        "images": _images(raw, who),
        "custom_fields": _custom_fields(attributes, who),
        "options": options,
        "variants": variants,
    }


def _stock_fields(stock: int | None) -> dict[str, Any]:
    if stock is None:
        return {"manage_stock": False}
    return {"manage_stock": True, "stock_quantity": int(stock)}


def product_from_canonical(canonical: dict[str, Any]) -> dict[str, Any]:
    """The canonical product → a WooCommerce create/update payload. Its `variations` list is
    written by the connector after the product (WooCommerce takes them on their own endpoint).

    `attributes` replaces the product's attribute set: the variant options, then the custom
    fields as descriptive attributes (values of one name grouped, in sorted order). `images`
    replaces the gallery (WooCommerce downloads each src again on every write).
    """
    variants = canonical.get("variants") or []
    price = canonical.get("price")
    options = canonical.get("options") or []
    described: dict[str, list[str]] = {}
    for custom in canonical.get("custom_fields") or []:
        described.setdefault(custom["name"], []).append(custom["value"])
    attributes = [
        {
            "name": option["name"],
            "position": position,
            "visible": True,
            "variation": True,
            "options": list(option.get("values") or []),
        }
        for position, option in enumerate(options)
    ]
    attributes += [
        {
            "name": name,
            "position": len(options) + offset,
            "visible": True,
            "variation": False,
            "options": values,
        }
        for offset, (name, values) in enumerate(described.items())
    ]
    payload: dict[str, Any] = {
        "name": canonical.get("name") or "",
        "type": "variable" if variants else "simple",
        "status": "publish" if canonical.get("status") == "active" else "draft",
        "description": canonical.get("description") or "",
        "sku": canonical.get("sku") or "",
        "weight": canonical.get("weight") or "",
        **_stock_fields(canonical.get("stock")),
        "attributes": attributes,
    }
    if canonical.get("slug"):
        payload["slug"] = canonical["slug"]
    if "categories" in canonical:
        ids = [target_id(c) for c in canonical.get("categories") or []]
        payload["categories"] = [{"id": i} for i in ids if i]
    if "brand" in canonical:
        brand = target_id(canonical.get("brand"))
        payload["brands"] = [{"id": brand}] if brand else []
    if "images" in canonical:
        images = sorted(canonical.get("images") or [], key=lambda i: i.get("position", 0))
        payload["images"] = [{"src": i["url"], "alt": i.get("alt") or ""} for i in images]
    if not variants:
        payload["regular_price"] = price or ""
        payload["sale_price"] = canonical.get("sale_price") or ""
    payload["variations"] = [
        {
            "sku": variant.get("sku") or "",
            # A variant without its own price sells at the product's.
            "regular_price": variant.get("price") or price or "",
            "sale_price": variant.get("sale_price") or "",
            **_stock_fields(variant.get("stock")),
            "attributes": [
                {"name": name, "option": value}
                for name, value in (variant.get("options") or {}).items()
            ],
        }
        for variant in variants
    ]
    return payload
