"""BigCommerce Catalog API v3 connector (products with their variants).

The API lives at {base_url}/stores/{store_hash}/v3/ (the real one at api.bigcommerce.com, a
sandbox at {server}/sandbox/<slug>). Writes follow the platform's shapes: one product per
POST (there is no batch create), up to 10 per batch PUT, deletes by `id:in`.

Plain Python, no Django: the engine builds it through apps.stores.services.build_connector.
The access token lives only inside the HTTP client's headers; it is never logged or put in
an exception message.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from decimal import Decimal, InvalidOperation
from typing import Any
from urllib.parse import quote

import httpx

from apps.stores.connectors.base import (
    Connector,
    ConnectorError,
    Page,
    RecordInvalid,
    TransientError,
    WriteItem,
    WriteResult,
)
from apps.stores.connectors.canonical import money
from apps.stores.connectors.http import HttpClient, error_message

PRODUCTS = "products"
PATH = "catalog/products"
MAX_PAGE = 250
BATCH_UPDATE = 10
# Ids per `id:in` query: keeps URLs short and matches the page size that brings them back.
IDS_PER_QUERY = 100

_RATE_HEADERS = {
    "quota": "X-Rate-Limit-Requests-Quota",
    "left": "X-Rate-Limit-Requests-Left",
    "window_ms": "X-Rate-Limit-Time-Window-Ms",
    "reset_ms": "X-Rate-Limit-Time-Reset-Ms",
}
# Statuses that concern one record's content: the record fails alone, the batch goes on.
_RECORD_STATUSES = {400, 404, 409, 413, 422}


def _chunks(values: list[Any], size: int) -> Iterator[list[Any]]:
    for start in range(0, len(values), size):
        yield values[start : start + size]


def _decimal_text(value: Any) -> str | None:
    """A platform number as a plain decimal string without trailing zeros (1.5, 2, 0)."""
    if value is None or value == "":
        return None
    try:
        amount = Decimal(str(value))
    except InvalidOperation:
        raise ValueError(f"{value!r} is not a number") from None
    if not amount.is_finite():
        raise ValueError(f"{value!r} is not a number")
    text = format(amount.normalize(), "f")
    return "0" if text in ("-0", "0") else text


def _number(value: str | None) -> float | None:
    # The API's JSON wants numbers, not strings; canonical prices have two places, which a
    # float carries exactly enough for money() to give the same string back.
    return None if value is None else float(Decimal(value))


def _sale(value: Any) -> str | None:
    # The platform's "not on sale" is 0 (products) or null (variants): both are no sale.
    return money(value) if value else None


def _weight(value: str | None) -> float:
    try:
        weight = Decimal(value or "0")
    except InvalidOperation:
        raise RecordInvalid(f"weight {value!r} is not a number") from None
    if not weight.is_finite() or weight < 0:
        raise RecordInvalid(f"weight {value!r} is not a number of zero or more")
    return float(weight)


def _stock(value: Any, what: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise RecordInvalid(f"{what} inventory_level {value!r} is not a number")
    return int(value)


class BigCommerceConnector(Connector):
    platform = "bigcommerce"
    max_write_batch = {PRODUCTS: BATCH_UPDATE}

    def __init__(
        self,
        base_url: str,
        credentials: dict[str, Any],
        *,
        transport: httpx.BaseTransport | None = None,
        timeout: float = 30.0,
        max_attempts: int = 5,
        **http_options: Any,
    ) -> None:
        store_hash = str(credentials.get("store_hash") or "").strip()
        token = str(credentials.get("access_token") or "").strip()
        if not store_hash or not token:
            raise ConnectorError("BigCommerce credentials need a store_hash and an access_token.")
        self.store_hash = store_hash
        #: The last rate-limit headers seen: quota, left, window_ms, reset_ms (ints) and
        #: seen_at (time.monotonic()), so the engine can share one budget across workers.
        self.last_rate_limit: dict[str, Any] = {}
        caller_hook: Callable[[httpx.Response], None] | None = http_options.pop("on_response", None)

        def on_response(response: httpx.Response) -> None:
            self._record_rate_limit(response)
            if caller_hook is not None:
                caller_hook(response)

        self.client = HttpClient(
            f"{base_url.rstrip('/')}/stores/{quote(store_hash, safe='')}/v3/",
            headers={"X-Auth-Token": token, "Content-Type": "application/json"},
            transport=transport,
            timeout=timeout,
            max_attempts=max_attempts,
            on_response=on_response,
            **http_options,
        )

    def __repr__(self) -> str:
        return f"<BigCommerceConnector store_hash={self.store_hash!r}>"

    def close(self) -> None:
        self.client.close()

    # --- plumbing --------------------------------------------------------------------------

    def _record_rate_limit(self, response: httpx.Response) -> None:
        seen: dict[str, Any] = {}
        for key, header in _RATE_HEADERS.items():
            value = response.headers.get(header)
            if value is not None:
                try:
                    seen[key] = int(value)
                except ValueError:
                    continue
        if seen:
            seen["status"] = response.status_code
            seen["seen_at"] = time.monotonic()
            self.last_rate_limit = seen

    @staticmethod
    def _check_entity(entity: str) -> None:
        if entity != PRODUCTS:
            raise ConnectorError(
                f"The BigCommerce connector does not handle {entity!r} yet (only products)."
            )

    def _get(self, params: dict[str, Any], path: str = PATH) -> dict[str, Any]:
        body, _ = self.client.json("GET", path, params=params)
        if not isinstance(body, dict) or not isinstance(body.get("data"), list | dict):
            raise ConnectorError(f"GET {path}: the response has no data")
        return body

    # --- reads -----------------------------------------------------------------------------

    def count(self, entity: str) -> int:
        self._check_entity(entity)
        body = self._get({"limit": 1})
        try:
            return int(body["meta"]["pagination"]["total"])
        except (KeyError, TypeError, ValueError):
            raise ConnectorError(f"GET {PATH}: the response has no pagination total") from None

    def read_page(self, entity: str, cursor: dict[str, Any] | None, page_size: int) -> Page:
        self._check_entity(entity)
        page = int((cursor or {}).get("page", 1))
        body = self._get(
            {
                "page": page,
                "limit": max(1, min(page_size, MAX_PAGE)),
                "include": "variants",
                "sort": "id",
                "direction": "asc",
            }
        )
        pagination = body.get("meta", {}).get("pagination", {})
        more = page < int(pagination.get("total_pages", 0))
        return Page(
            records=body["data"],
            total=pagination.get("total"),
            next_cursor={"page": page + 1} if more else None,
        )

    def read_by_ids(self, entity: str, ids: list[str]) -> list[dict[str, Any]]:
        self._check_entity(entity)
        records: list[dict[str, Any]] = []
        for chunk in _chunks([str(int(i)) for i in ids], IDS_PER_QUERY):
            body = self._get({"id:in": ",".join(chunk), "limit": MAX_PAGE, "include": "variants"})
            records.extend(body["data"])
        return records

    def find_by_natural_key(self, entity: str, key: str) -> dict[str, Any] | None:
        self._check_entity(entity)
        body = self._get({"sku": key, "include": "variants", "limit": 5})
        # Exact match only: the filter is the platform's, and a near-miss must not be taken
        # for the record (that would update the wrong product).
        return next((r for r in body["data"] if r.get("sku") == key), None)

    # --- writes ----------------------------------------------------------------------------

    def _failure(self, ref: str, response: httpx.Response, method: str) -> WriteResult:
        status = response.status_code
        if status not in _RECORD_STATUSES:
            # 401/403 and the like concern the connection, not this record: stop the batch.
            raise ConnectorError(
                f"{method} {PATH}: HTTP {status}: {error_message(response)}", status=status
            )
        return WriteResult(ref=ref, ok=False, error=error_message(response), status=status)

    @staticmethod
    def _transient(ref: str, exc: TransientError) -> WriteResult:
        return WriteResult(ref=ref, ok=False, error=str(exc), status=exc.status, retryable=True)

    @staticmethod
    def _data(response: httpx.Response) -> Any:
        try:
            return response.json()["data"]
        except (ValueError, KeyError, TypeError):
            raise ConnectorError(
                f"{PATH}: HTTP {response.status_code} answer has no data"
            ) from None

    def create(self, entity: str, items: list[WriteItem]) -> list[WriteResult]:
        self._check_entity(entity)
        results: list[WriteResult] = []
        for index, item in enumerate(items):
            try:
                response = self.client.request("POST", PATH, json=item.payload)
            except TransientError as exc:
                # The platform is unreachable: the rest would fail the same way, slowly.
                results.extend(self._transient(rest.ref, exc) for rest in items[index:])
                break
            if response.status_code >= 400:
                results.append(self._failure(item.ref, response, "POST"))
                continue
            record = self._data(response)
            results.append(
                WriteResult(
                    ref=item.ref,
                    ok=True,
                    target_id=str(record["id"]),
                    record=record,
                    status=response.status_code,
                )
            )
        return results

    def update(self, entity: str, items: list[WriteItem]) -> list[WriteResult]:
        self._check_entity(entity)
        missing = [item.ref for item in items if not item.target_id]
        if missing:
            raise ConnectorError(f"update needs target ids (missing for {', '.join(missing)})")
        payloads = self._with_variant_ids(items)
        pairs = list(zip(items, payloads, strict=True))
        results: list[WriteResult] = []
        for start in range(0, len(pairs), BATCH_UPDATE):
            chunk = pairs[start : start + BATCH_UPDATE]
            try:
                results.extend(self._update_batch(chunk))
            except TransientError as exc:
                # Unreachable: this batch and the rest are retried later (PUT is idempotent,
                # so a record that did get through is simply written again).
                results.extend(self._transient(item.ref, exc) for item, _ in pairs[start:])
                break
        return results

    def _update_batch(self, chunk: list[tuple[WriteItem, dict[str, Any]]]) -> list[WriteResult]:
        response = self.client.request("PUT", PATH, json=[payload for _, payload in chunk])
        if response.status_code < 400:
            by_id = {str(record["id"]): record for record in self._data(response)}
            return [
                WriteResult(
                    ref=item.ref,
                    ok=True,
                    target_id=item.target_id,
                    record=by_id.get(str(item.target_id)),
                    status=response.status_code,
                )
                for item, _ in chunk
            ]
        if response.status_code not in _RECORD_STATUSES:
            self._failure(chunk[0][0].ref, response, "PUT")  # raises: not about one record
        # The batch is all or nothing: find the bad record by writing each alone.
        results = []
        for item, payload in chunk:
            single = self.client.request("PUT", f"{PATH}/{int(item.target_id)}", json=payload)
            if single.status_code >= 400:
                results.append(self._failure(item.ref, single, "PUT"))
            else:
                results.append(
                    WriteResult(
                        ref=item.ref,
                        ok=True,
                        target_id=item.target_id,
                        record=self._data(single),
                        status=single.status_code,
                    )
                )
        return results

    def _with_variant_ids(self, items: list[WriteItem]) -> list[dict[str, Any]]:
        """Update payloads with the product id, and the target's variant ids matched by SKU:
        without an id the platform would take a variant for a new one and refuse its SKU."""
        needs_ids = [
            item.target_id
            for item in items
            if any("id" not in v for v in item.payload.get("variants") or [])
        ]
        targets: dict[str, dict[str, Any]] = {}
        if needs_ids:
            targets = {str(r["id"]): r for r in self.read_by_ids(PRODUCTS, needs_ids)}
        payloads = []
        for item in items:
            payload = {**item.payload, "id": int(item.target_id)}
            target = targets.get(str(item.target_id))
            if target and payload.get("variants"):
                known = {
                    v.get("sku"): v["id"]
                    for v in target.get("variants") or []
                    if v.get("option_values")
                }
                payload["variants"] = [
                    {**v, "id": known[v.get("sku")]}
                    if "id" not in v and v.get("sku") in known
                    else v
                    for v in payload["variants"]
                ]
            payloads.append(payload)
        return payloads

    def delete(self, entity: str, ids: list[str]) -> list[WriteResult]:
        self._check_entity(entity)
        results: list[WriteResult] = []
        for chunk in _chunks([str(int(i)) for i in ids], IDS_PER_QUERY):
            try:
                response = self.client.request("DELETE", PATH, params={"id:in": ",".join(chunk)})
            except TransientError as exc:
                results.extend(self._transient(i, exc) for i in chunk)
                continue
            if response.status_code >= 400:
                failure = self._failure(chunk[0], response, "DELETE")
                results.extend(
                    WriteResult(ref=i, ok=False, error=failure.error, status=failure.status)
                    for i in chunk
                )
                continue
            results.extend(
                WriteResult(ref=i, ok=True, target_id=i, status=response.status_code) for i in chunk
            )
        return results

    # --- mapping ---------------------------------------------------------------------------

    def to_canonical(self, entity: str, raw: dict[str, Any]) -> dict[str, Any]:
        self._check_entity(entity)
        if not isinstance(raw, dict):
            raise RecordInvalid("the product is not a JSON object")
        label = f"product {raw.get('id', '?')}"
        name = raw.get("name")
        if not isinstance(name, str) or not name.strip():
            raise RecordInvalid(f"{label} has no name")
        tracking = raw.get("inventory_tracking") or "none"
        variants_raw = raw.get("variants") or []
        if not isinstance(variants_raw, list):
            raise RecordInvalid(f"{label}: variants is not a list")
        try:
            price = money(raw.get("price"))
            sale_price = _sale(raw.get("sale_price"))
            weight = _decimal_text(raw.get("weight"))
        except ValueError as exc:
            raise RecordInvalid(f"{label}: {exc}") from None
        if price is None:
            raise RecordInvalid(f"{label} has no price")
        stock = None
        if tracking == "product":
            stock = _stock(raw.get("inventory_level"), label)
        options: dict[str, list[str]] = {}
        variants = []
        for variant in variants_raw:
            values = variant.get("option_values") or []
            if not values:
                continue  # the base variant of a product without options: the product itself
            choice: dict[str, str] = {}
            for value in values:
                option, choice_label = value.get("option_display_name"), value.get("label")
                if not option or choice_label is None:
                    raise RecordInvalid(f"{label}: a variant option value has no name or label")
                choice[option] = choice_label
                known = options.setdefault(option, [])
                if choice_label not in known:
                    known.append(choice_label)
            try:
                variant_price = money(variant.get("price"))
                variant_sale = (
                    money(variant.get("sale_price")) if variant.get("sale_price") else None
                )
            except ValueError as exc:
                raise RecordInvalid(f"{label} variant {variant.get('sku')!r}: {exc}") from None
            variants.append(
                {
                    "sku": variant.get("sku") or "",
                    "price": variant_price,
                    "sale_price": variant_sale,
                    "stock": _stock(variant.get("inventory_level"), f"{label} variant")
                    if tracking == "variant"
                    else None,
                    "options": choice,
                }
            )
        return {
            "sku": raw.get("sku") or "",
            "name": name,
            "description": raw.get("description") or "",
            "status": "active" if raw.get("is_visible", True) else "draft",
            "price": price,
            "sale_price": sale_price,
            "stock": stock,
            "weight": weight,
            "options": [{"name": n, "values": v} for n, v in options.items()],
            "variants": variants,
        }

    def from_canonical(self, entity: str, canonical: dict[str, Any]) -> dict[str, Any]:
        self._check_entity(entity)
        variants = canonical.get("variants") or []
        if any(v.get("stock") is not None for v in variants):
            tracking = "variant"
        elif canonical.get("stock") is not None:
            tracking = "product"
        else:
            tracking = "none"
        payload: dict[str, Any] = {
            "name": canonical["name"],
            "type": "physical",
            "sku": canonical.get("sku") or "",
            "description": canonical.get("description") or "",
            # Required by the platform; a product without a weight ships as weightless.
            "weight": _weight(canonical.get("weight")),
            "price": _number(canonical.get("price")),
            # The platform's "no sale" is 0, not null.
            "sale_price": _number(canonical.get("sale_price")) or 0,
            "is_visible": canonical.get("status", "active") == "active",
            "inventory_tracking": tracking,
        }
        if tracking == "product":
            payload["inventory_level"] = int(canonical["stock"])
        if variants:
            payload["variants"] = [
                {
                    "sku": variant.get("sku") or "",
                    "price": _number(variant.get("price")),
                    "sale_price": _number(variant.get("sale_price")),
                    **(
                        {"inventory_level": int(variant.get("stock") or 0)}
                        if tracking == "variant"
                        else {}
                    ),
                    "option_values": [
                        {"option_display_name": option, "label": value}
                        for option, value in (variant.get("options") or {}).items()
                    ],
                }
                for variant in variants
            ]
        return payload
