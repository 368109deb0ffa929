"""WooCommerce REST API (wc/v3) connector for products.

A raw product record is WooCommerce's product JSON with its variations embedded under
`variations_data` (WooCommerce serves them from a separate endpoint). Writes go through
`products/batch` (at most 100 items a request); a variable product's variations are written
right after it through `products/<id>/variations/batch`.
"""

from __future__ import annotations

from collections.abc import Iterator
from decimal import Decimal, InvalidOperation
from typing import Any

import httpx

from apps.stores.connectors.base import (
    Connector,
    ConnectorError,
    Page,
    RecordInvalid,
    WriteItem,
    WriteResult,
)
from apps.stores.connectors.canonical import money
from apps.stores.connectors.http import HttpClient

ENTITY = "products"
BATCH_LIMIT = 100
VARIATIONS_KEY = "variations_data"


def _chunks(values: list[Any], size: int) -> Iterator[list[Any]]:
    for start in range(0, len(values), size):
        yield values[start : start + size]


class WooCommerceConnector(Connector):
    platform = "woocommerce"
    max_write_batch = {ENTITY: BATCH_LIMIT}

    def __init__(
        self,
        base_url: str,
        credentials: dict[str, str],
        *,
        transport: httpx.BaseTransport | None = None,
        timeout: float = 30.0,
        max_attempts: int = 5,
        **http_options: Any,
    ) -> None:
        key = credentials.get("consumer_key") or ""
        secret = credentials.get("consumer_secret") or ""
        if not key or not secret:
            # Name the missing fields, never their values.
            raise ConnectorError("WooCommerce needs consumer_key and consumer_secret credentials")
        self.base_url = base_url.rstrip("/")
        self._http = HttpClient(
            f"{self.base_url}/wp-json/wc/v3/",
            auth=httpx.BasicAuth(key, secret),
            transport=transport,
            timeout=timeout,
            max_attempts=max_attempts,
            **http_options,
        )

    def close(self) -> None:
        self._http.close()

    @staticmethod
    def _check(entity: str) -> None:
        if entity != ENTITY:
            raise ConnectorError(
                f"The WooCommerce connector does not handle {entity!r} yet (only {ENTITY!r})."
            )

    # --- reads -----------------------------------------------------------------------------

    def _get_list(self, path: str, params: dict[str, Any]) -> tuple[list[dict], httpx.Response]:
        body, response = self._http.json("GET", path, params=params)
        if not isinstance(body, list):
            raise ConnectorError(f"GET {path}: expected a JSON list")
        return body, response

    @staticmethod
    def _header_int(response: httpx.Response, name: str) -> int | None:
        try:
            return int(response.headers[name])
        except (KeyError, ValueError):
            return None

    def _variations(self, product_id: Any) -> list[dict[str, Any]]:
        path = f"products/{product_id}/variations"
        found: list[dict[str, Any]] = []
        page = 1
        while True:
            params = {"per_page": BATCH_LIMIT, "page": page, "orderby": "id", "order": "asc"}
            batch, response = self._get_list(path, params)
            found.extend(batch)
            pages = self._header_int(response, "X-WP-TotalPages") or 1
            if page >= pages or not batch:
                return found
            page += 1

    def _embed(self, products: list[dict[str, Any]]) -> list[dict[str, Any]]:
        for product in products:
            # `variations` lists the ids: no request for simple products or empty variables.
            has_variations = product.get("type") == "variable" and product.get("variations")
            product[VARIATIONS_KEY] = self._variations(product["id"]) if has_variations else []
        return products

    def count(self, entity: str) -> int:
        self._check(entity)
        _, response = self._get_list("products", {"per_page": 1})
        total = self._header_int(response, "X-WP-Total")
        if total is None:
            raise ConnectorError("GET products: the response has no X-WP-Total header")
        return total

    def read_page(self, entity: str, cursor: dict[str, Any] | None, page_size: int) -> Page:
        """One page in id order; the cursor is `{"page": n}` (offset pages, as WooCommerce has
        no keyset paging: a delete during a full read can shift a record into a page already
        read — a verify or delta run picks it up)."""
        self._check(entity)
        page = int((cursor or {}).get("page", 1))
        per_page = max(1, min(page_size, BATCH_LIMIT))
        params = {"page": page, "per_page": per_page, "orderby": "id", "order": "asc"}
        products, response = self._get_list("products", params)
        total = self._header_int(response, "X-WP-Total")
        pages = self._header_int(response, "X-WP-TotalPages")
        # Without the header, a full page is taken to mean there may be more.
        more = len(products) == per_page if pages is None else page < pages
        next_cursor = {"page": page + 1} if more and products else None
        return Page(records=self._embed(products), total=total, next_cursor=next_cursor)

    def read_by_ids(self, entity: str, ids: list[str]) -> list[dict[str, Any]]:
        self._check(entity)
        wanted = [str(i) for i in ids]
        numeric = [i for i in wanted if i.isdigit()]
        found: dict[str, dict[str, Any]] = {}
        for chunk in _chunks(numeric, BATCH_LIMIT):
            params = {"include": ",".join(chunk), "per_page": BATCH_LIMIT, "orderby": "id"}
            products, _ = self._get_list("products", params)
            for product in self._embed(products):
                found[str(product["id"])] = product
        return [found[i] for i in wanted if i in found]

    def find_by_natural_key(self, entity: str, key: str) -> dict[str, Any] | None:
        self._check(entity)
        if not key:
            return None
        # The sku filter also returns variations (and, for "a,b", products "a" and "b"): only
        # a product whose own SKU is the key is the record asked for.
        found, _ = self._get_list("products", {"sku": key, "per_page": BATCH_LIMIT})
        match = next(
            (p for p in found if p.get("sku") == key and p.get("type") != "variation"), None
        )
        return self._embed([match])[0] if match else None

    # --- writes ----------------------------------------------------------------------------

    def create(self, entity: str, items: list[WriteItem]) -> list[WriteResult]:
        self._check(entity)
        return self._write("create", items)

    def update(self, entity: str, items: list[WriteItem]) -> list[WriteResult]:
        self._check(entity)
        return self._write("update", items)

    def delete(self, entity: str, ids: list[str]) -> list[WriteResult]:
        self._check(entity)
        results: list[WriteResult] = []
        valid = [i for i in ids if str(i).isdigit()]
        results_by_id: dict[str, WriteResult] = {}
        sent_any = False
        for chunk in _chunks(valid, BATCH_LIMIT):
            try:
                body, _ = self._http.json(
                    "POST", "products/batch", json={"delete": [int(i) for i in chunk]}
                )
            except ConnectorError as exc:
                if not sent_any:
                    raise
                for ref in chunk:
                    results_by_id[str(ref)] = _failed(str(ref), exc)
                continue
            sent_any = True
            answers = _answers(body, "delete", len(chunk))
            for ref, answer in zip(chunk, answers, strict=True):
                error = answer.get("error")
                if error and _code(error) == "woocommerce_rest_product_invalid_id":
                    # Already gone: a repeated delete (after a lost answer) has its effect.
                    results_by_id[str(ref)] = WriteResult(
                        ref=str(ref), ok=True, target_id=str(ref), extra={"already_absent": True}
                    )
                elif error:
                    results_by_id[str(ref)] = _item_failed(str(ref), error)
                else:
                    results_by_id[str(ref)] = WriteResult(
                        ref=str(ref), ok=True, target_id=str(answer.get("id", ref)), record=answer
                    )
        for ref in ids:
            result = results_by_id.get(str(ref))
            if result is None:
                result = WriteResult(
                    ref=str(ref), ok=False, error=f"{ref!r} is not a WooCommerce product id"
                )
            results.append(result)
        return results

    def _write(self, op: str, items: list[WriteItem]) -> list[WriteResult]:
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
        for chunk in _chunks(sendable, BATCH_LIMIT):
            try:
                body, _ = self._http.json(
                    "POST", "products/batch", json={op: [payload for _, _, payload in chunk]}
                )
            except ConnectorError as exc:
                if not sent_any:
                    raise
                # Earlier chunks were written: answer for every item rather than lose them.
                for index, item, _ in chunk:
                    results[index] = _failed(item.ref, exc)
                continue
            sent_any = True
            for (index, item, _), answer in zip(chunk, _answers(body, op, len(chunk)), strict=True):
                results[index] = self._after_parent(op, item, answer)
        return [results[i] for i in range(len(items))]

    def _after_parent(self, op: str, item: WriteItem, answer: dict[str, Any]) -> WriteResult:
        """The product's result once its variations (if the payload has a list) are written."""
        if answer.get("error"):
            return _item_failed(item.ref, answer["error"])
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
        for chunk in _chunks(ops, BATCH_LIMIT):
            body: dict[str, list[Any]] = {}
            for op, value in chunk:
                body.setdefault(op, []).append(value)
            answer, _ = self._http.json("POST", path, json=body)
            for op, values in body.items():
                for sent, got in zip(values, _answers(answer, op, len(values)), strict=True):
                    label = sent if op == "delete" else sent.get("sku") or sent.get("id") or "new"
                    if got.get("error"):
                        error = got["error"]
                        problems.append((f"variation {label}: {_message(error)}", _status(error)))
                    elif op != "delete":
                        now[got["id"]] = got
        for variation in existing:
            if variation["id"] in kept_ids and variation["id"] not in now:
                now[variation["id"]] = variation  # its update failed: it is still there as it was
        return [now[k] for k in sorted(now, key=lambda i: int(i))], problems

    # --- mapping ---------------------------------------------------------------------------

    def to_canonical(self, entity: str, raw: dict[str, Any]) -> dict[str, Any]:
        self._check(entity)
        return product_to_canonical(raw)

    def from_canonical(self, entity: str, canonical: dict[str, Any]) -> dict[str, Any]:
        self._check(entity)
        return product_from_canonical(canonical)


# --- batch answers -------------------------------------------------------------------------


def _answers(body: Any, op: str, expected: int) -> list[dict[str, Any]]:
    answers = body.get(op) if isinstance(body, dict) else None
    if not isinstance(answers, list) or len(answers) != expected:
        got = len(answers) if isinstance(answers, list) else 0
        raise ConnectorError(f"batch {op}: expected {expected} answers, got {got}")
    return [a if isinstance(a, dict) else {"error": {"message": "not an object"}} for a in answers]


def _code(error: Any) -> str:
    return str(error.get("code", "")) if isinstance(error, dict) else ""


def _message(error: Any) -> str:
    if isinstance(error, dict):
        return str(error.get("message") or error.get("code") or "error")
    return str(error)


def _status(error: Any) -> int | None:
    data = error.get("data") if isinstance(error, dict) else None
    status = data.get("status") if isinstance(data, dict) else None
    return status if isinstance(status, int) else None


def _item_failed(ref: str, error: Any) -> WriteResult:
    status = _status(error)
    extra: dict[str, Any] = {"code": _code(error)}
    data = error.get("data") if isinstance(error, dict) else None
    if isinstance(data, dict) and data.get("resource_id"):
        # Who holds a duplicated SKU: the engine's natural-key lookup can adopt it.
        extra["resource_id"] = str(data["resource_id"])
    return WriteResult(
        ref=ref,
        ok=False,
        error=_message(error),
        status=status,
        retryable=bool(status and status >= 500),
        extra=extra,
    )


def _failed(ref: str, exc: ConnectorError) -> WriteResult:
    return WriteResult(
        ref=ref, ok=False, error=str(exc), status=exc.status, retryable=exc.retryable
    )


def _options_key(variation: dict[str, Any]) -> tuple:
    return tuple(
        sorted((a.get("name"), a.get("option")) for a in variation.get("attributes") or [])
    )


# --- canonical mapping ---------------------------------------------------------------------


def _label(raw: dict[str, Any]) -> str:
    sku = raw.get("sku")
    return f"product {raw.get('id', '?')}" + (f" (SKU {sku})" if sku else "")


def _text(raw: dict[str, Any], field: str, who: str) -> str:
    value = raw.get(field)
    if value is None:
        return ""
    if not isinstance(value, str):
        raise RecordInvalid(f"{who}: {field} is a {type(value).__name__}, not text")
    return value


def _money(value: Any, field: str, who: str) -> str | None:
    try:
        return money(value)
    except ValueError:
        raise RecordInvalid(f"{who}: {field} {value!r} is not a number") from None


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
        amount = Decimal(str(value).strip())
    except InvalidOperation:
        raise RecordInvalid(f"{who}: weight {value!r} is not a number") from None
    if not amount.is_finite():
        raise RecordInvalid(f"{who}: weight {value!r} is not a number")
    return str(value).strip()


def _list(raw: dict[str, Any], field: str, who: str) -> list[Any]:
    value = raw.get(field)
    if value is None:
        return []
    if not isinstance(value, list):
        raise RecordInvalid(f"{who}: {field} is not a list")
    return value


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


def product_to_canonical(raw: dict[str, Any]) -> dict[str, Any]:
    """A WooCommerce product (with `variations_data`) → the canonical product."""
    if not isinstance(raw, dict):
        raise RecordInvalid("the product record is not a JSON object")
    who = _label(raw)
    variants = [_variant(v, who) for v in _list(raw, VARIATIONS_KEY, who)]
    options = []
    attributes = [a for a in _list(raw, "attributes", who) if isinstance(a, dict)]
    for attribute in sorted(attributes, key=lambda a: a.get("position") or 0):
        if not attribute.get("variation"):
            continue  # a descriptive attribute (e.g. Material), not a choice between variants
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
    return {
        "sku": _text(raw, "sku", who).strip(),
        "name": _text(raw, "name", who),
        "description": _text(raw, "description", who),
        "status": "active" if raw.get("status") == "publish" else "draft",
        "price": price,
        "sale_price": sale_price,
        "stock": _stock(raw, who),
        "weight": _weight(raw, who),
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

    `attributes` replaces the product's attribute set, so descriptive attributes that exist
    only on the target are dropped on update (the canonical model does not carry them).
    """
    variants = canonical.get("variants") or []
    price = canonical.get("price")
    payload: dict[str, Any] = {
        "name": canonical.get("name") or "",
        "type": "variable" if variants else "simple",
        "status": "publish" if canonical.get("status") == "active" else "draft",
        "description": canonical.get("description") or "",
        "sku": canonical.get("sku") or "",
        "weight": canonical.get("weight") or "",
        **_stock_fields(canonical.get("stock")),
        "attributes": [
            {
                "name": option["name"],
                "position": position,
                "visible": True,
                "variation": True,
                "options": list(option.get("values") or []),
            }
            for position, option in enumerate(canonical.get("options") or [])
        ],
    }
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
