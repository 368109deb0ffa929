"""Orders (Orders API v2 `orders`): one order per POST, lines read from `orders/{id}/products`.

v2 lists are bare arrays and answer 204 with no body when empty (or past the last page). An
order's lines and shipping addresses are sub-resources: the handler reads them and puts them
into the raw order (as "products" and "shipping_addresses" lists), so a raw order is complete.

The order reference (canonical natural key) is written to `external_order_id`: the one field
a client may set (on POST and PUT) that names the order in another system, and the list can be
filtered by it. `external_source` is "M-MIG", the platform's code for migrated historical
orders (kept out of the store's GMV and order count, which its pricing uses).

The platform does not refuse a second order with the same reference, so a create must never be
sent twice blindly: the POST goes through a client that does not retry, and after a timeout
or dropped connection the handler looks the reference up before sending it again.
"""

from __future__ import annotations

import random
from datetime import datetime
from decimal import Decimal
from email.utils import format_datetime
from typing import Any

from apps.stores.connectors.base import (
    ConnectorError,
    Page,
    RecordInvalid,
    TransientError,
    WriteItem,
    WriteResult,
    lower_bound,
)
from apps.stores.connectors.bigcommerce import changes
from apps.stores.connectors.bigcommerce.api import Api, ok, transient
from apps.stores.connectors.bigcommerce.common import (
    MAX_PAGE,
    Handler,
    canonical_time,
    numeric_ids,
    page_number,
    ref,
    ref_id,
    require_targets,
    rfc2822,
    text,
)
from apps.stores.connectors.canonical import ORDER_STATUSES, money

PATH = "v2/orders"
MIGRATED = "M-MIG"

# BigCommerce order status ids (GET v2/order_statuses) → canonical status.
STATUS_FROM_PLATFORM = {
    0: "pending",  # Incomplete: the shopper reached payment and stopped
    1: "pending",  # Pending
    7: "pending",  # Awaiting Payment
    3: "processing",  # Partially Shipped
    8: "processing",  # Awaiting Pickup
    9: "processing",  # Awaiting Shipment
    11: "processing",  # Awaiting Fulfillment
    12: "on_hold",  # Manual Verification Required
    13: "on_hold",  # Disputed
    2: "completed",  # Shipped
    10: "completed",  # Completed
    14: "completed",  # Partially Refunded: fulfilled, with a refund on it
    5: "cancelled",  # Cancelled
    4: "refunded",  # Refunded
    6: "failed",  # Declined
}
# Canonical status → the status id written (each maps back to itself).
STATUS_TO_PLATFORM = {
    "pending": 7,
    "processing": 11,
    "on_hold": 12,
    "completed": 10,
    "cancelled": 5,
    "refunded": 4,
    "failed": 6,
}

_LINE_FIELDS = ("quantity", "name", "sku", "price_ex_tax", "price_inc_tax")
# What a PUT may carry: the creation date and source are set once, on POST.
_PUT_FIELDS = (
    "status_id",
    "customer_id",
    "billing_address",
    "external_order_id",
    "customer_message",
    "currency_code",
    "subtotal_ex_tax",
    "subtotal_inc_tax",
    "shipping_cost_ex_tax",
    "shipping_cost_inc_tax",
    "total_ex_tax",
    "total_inc_tax",
    "discount_amount",
)


def address_in(raw: Any, kind: str) -> dict[str, Any] | None:
    if not isinstance(raw, dict):
        return None
    if not any(raw.get(key) for key in ("first_name", "last_name", "street_1", "city", "zip")):
        return None
    return {
        "type": kind,
        "first_name": text(raw.get("first_name")),
        "last_name": text(raw.get("last_name")),
        "company": text(raw.get("company")),
        "line1": text(raw.get("street_1")),
        "line2": text(raw.get("street_2")),
        "city": text(raw.get("city")),
        "state": text(raw.get("state")),
        "postcode": text(raw.get("zip")),
        "country": text(raw.get("country_iso2")).upper(),
        "phone": text(raw.get("phone")),
    }


def address_out(address: dict[str, Any] | None, email: str) -> dict[str, Any]:
    address = address or {}
    return {
        "first_name": address.get("first_name") or "",
        "last_name": address.get("last_name") or "",
        "company": address.get("company") or "",
        "street_1": address.get("line1") or "",
        "street_2": address.get("line2") or "",
        "city": address.get("city") or "",
        "state": address.get("state") or "",
        "zip": address.get("postcode") or "",
        "country_iso2": address.get("country") or "",
        "phone": address.get("phone") or "",
        "email": email,
    }


def _amount(value: Any, what: str) -> str:
    try:
        amount = money(value)
    except ValueError as exc:
        raise RecordInvalid(f"{what}: {exc}") from None
    return amount or "0.00"


def _line_differs(current: dict[str, Any], wanted: dict[str, Any]) -> bool:
    for key in _LINE_FIELDS:
        if key not in wanted:
            continue
        if key.startswith("price"):
            if Decimal(str(current.get(key) or 0)) != Decimal(str(wanted[key])):
                return True
        elif current.get(key) != wanted[key]:
            return True
    return False


class OrderHandler(Handler):
    entity = "orders"
    max_write_batch = 10
    changes = True

    def __init__(self, api: Api, once: Api, products: Any) -> None:
        super().__init__(api)
        self.once = once  # an Api whose client never retries: for creates
        self.products = products

    # --- reads -------------------------------------------------------------------------------

    def _complete(self, orders: list[dict[str, Any]]) -> list[dict[str, Any]]:
        """Put each order's lines and shipping addresses into it."""
        for order in orders:
            base = f"{PATH}/{int(order['id'])}"
            order["products"] = self.api.v2_all(f"{base}/products")
            addresses = order.get("shipping_address_count")
            order["shipping_addresses"] = (
                self.api.v2_all(f"{base}/shipping_addresses") if addresses != 0 else []
            )
        return orders

    def count(self) -> int:
        body = self.api.v2_object(f"{PATH}/count")
        try:
            return int((body or {})["count"])
        except (KeyError, TypeError, ValueError):
            raise ConnectorError(f"GET {PATH}/count: the response has no count") from None

    def read_page(self, cursor: dict[str, Any] | None, page_size: int) -> Page:
        page = page_number(cursor)
        limit = max(1, min(page_size, MAX_PAGE))
        records = self.api.v2_list(PATH, {"page": page, "limit": limit, "sort": "id:asc"})
        return Page(
            records=self._complete(records),
            total=self.count() if page == 1 else None,
            next_cursor={"page": page + 1} if len(records) == limit else None,
        )

    def _above(self, params: dict[str, Any], after_id: int | None, limit: int) -> list[dict]:
        query = {**params, "limit": limit, "sort": "id:asc"}
        if after_id is not None:
            query["min_id"] = after_id + 1  # min_id is inclusive
        return self.api.v2_list(PATH, query)

    def read_changes(
        self,
        since: datetime | None,
        until: datetime,
        cursor: dict[str, Any] | None,
        page_size: int,
    ) -> Page:
        """Keyset on id (`min_id`) inside `min_date_modified`; the cursor is `{"after_id",
        "started"}` (see changes.py). Lines and shipping addresses are read for the records
        kept only."""
        state = dict(cursor) if cursor else {"started": changes.now_iso()}
        limit = changes.limit_of(page_size)
        params: dict[str, Any] = {}
        if since is not None:
            params["min_date_modified"] = format_datetime(lower_bound(since))
        records, next_state = changes.id_keyset(
            lambda after: self._above(params, after, limit), state, limit
        )
        started = changes.started_at(state)
        kept = [r for r in records if changes.within(r, until, started)]
        return Page(records=self._complete(kept), total=None, next_cursor=next_state)

    def list_ids(self) -> list[str]:
        # v2 has no field selection: whole orders, 250 a request, without their lines.
        return changes.collect_ids(
            lambda state: changes.id_keyset(
                lambda after: self._above({}, after, MAX_PAGE), state, MAX_PAGE
            )
        )

    def read_by_ids(self, ids: list[str]) -> list[dict[str, Any]]:
        """v2 has no id:in: ids are read in ranges of at most 250 consecutive ids."""
        wanted = sorted({int(i) for i in numeric_ids(ids)})
        found: list[dict[str, Any]] = []
        while wanted:
            first = wanted[0]
            group = [i for i in wanted if i < first + MAX_PAGE]
            wanted = wanted[len(group) :]
            page = self.api.v2_list(
                PATH, {"min_id": first, "max_id": group[-1], "limit": MAX_PAGE, "sort": "id:asc"}
            )
            keep = set(group)
            found.extend(order for order in page if int(order["id"]) in keep)
        return self._complete(found)

    def find(self, key: str) -> dict[str, Any] | None:
        if not key:
            return None
        matches = self.api.v2_list(PATH, {"external_order_id": key, "limit": 5})
        exact = [order for order in matches if order.get("external_order_id") == key]
        return self._complete(exact[:1])[0] if exact else None

    # --- writes ------------------------------------------------------------------------------

    def _with_variant_ids(self, items: list[WriteItem]) -> dict[str, dict[str, Any]]:
        """Payloads whose lines name the target variant: the platform needs it to sell a
        product with options."""
        product_ids = sorted(
            {
                str(line["product_id"])
                for item in items
                for line in item.payload.get("products") or []
                if line.get("product_id")
            }
        )
        variants = self.products.variant_ids(product_ids) if product_ids else {}
        payloads = {}
        for item in items:
            lines = []
            for line in item.payload.get("products") or []:
                variant_id = variants.get((str(line.get("product_id")), line.get("sku") or ""))
                lines.append({**line, "variant_id": variant_id} if variant_id else line)
            payloads[item.ref] = {**item.payload, "products": lines}
        return payloads

    def create(self, items: list[WriteItem]) -> list[WriteResult]:
        try:
            payloads = self._with_variant_ids(items)
        except TransientError as exc:
            return [transient(item.ref, exc) for item in items]
        results: list[WriteResult] = []
        for index, item in enumerate(items):
            result = self._create_one(item.ref, payloads[item.ref])
            results.append(result)
            if result.retryable:
                # The platform is unreachable: the rest would fail the same way, slowly.
                results.extend(
                    WriteResult(rest.ref, False, error=result.error, retryable=True)
                    for rest in items[index + 1 :]
                )
                break
        return results

    def _create_one(self, item_ref: str, payload: dict[str, Any]) -> WriteResult:
        client = self.api.client
        reference = payload.get("external_order_id") or ""
        last = TransientError(f"POST {PATH}: not sent")
        for attempt in range(1, max(1, client.max_attempts) + 1):
            try:
                response = self.once.request("POST", PATH, json=payload)
            except TransientError as exc:
                last = exc
                # The order may exist already (the answer, not the request, was lost).
                try:
                    found = self.find(reference)
                except TransientError as lookup:
                    return transient(item_ref, lookup)
                if found is not None:
                    return ok(item_ref, found["id"], found, 200)
                if not reference:
                    break  # nothing to look up by: never risk a second order
                client.sleep(
                    random.uniform(0, min(client.backoff_cap, client.backoff_base * 2**attempt))
                )
                continue
            if response.status_code >= 400:
                return self.api.failure(item_ref, response, "POST", PATH)
            order = self.api.body(response, PATH)
            try:
                [record] = self._complete([order])
            except TransientError:
                record = None  # written; the record is read again on the next run
            return ok(item_ref, order["id"], record, response.status_code)
        return transient(item_ref, last)

    def update(self, items: list[WriteItem]) -> list[WriteResult]:
        require_targets(items)
        try:
            payloads = self._with_variant_ids(items)
        except TransientError as exc:
            return [transient(item.ref, exc) for item in items]
        results: list[WriteResult] = []
        for index, item in enumerate(items):
            path = f"{PATH}/{int(item.target_id)}"
            try:
                body = self._put_body(path, payloads[item.ref])
                response = self.api.request("PUT", path, json=body)
            except TransientError as exc:
                results.extend(transient(rest.ref, exc) for rest in items[index:])
                break
            if response.status_code >= 400:
                results.append(self.api.failure(item.ref, response, "PUT", path))
                continue
            order = self.api.body(response, path)
            try:
                [record] = self._complete([order])
            except TransientError:
                record = None
            results.append(ok(item.ref, item.target_id, record, response.status_code))
        return results

    def _put_body(self, path: str, payload: dict[str, Any]) -> dict[str, Any]:
        """A PUT that brings the order in line: lines with an id change (quantity 0 removes
        one), lines without are added; unchanged lines are left alone."""
        body = {key: payload[key] for key in _PUT_FIELDS if key in payload}
        current = self.api.v2_all(f"{path}/products")
        wanted = payload.get("products") or []
        same_products = [int(c.get("product_id") or 0) for c in current] == [
            int(w.get("product_id") or 0) for w in wanted
        ]
        if same_products:
            changes = [
                {"id": c["id"], **{k: w[k] for k in _LINE_FIELDS if k in w}}
                for c, w in zip(current, wanted, strict=True)
                if _line_differs(c, w)
            ]
        else:
            # Lines replaced wholesale keep the canonical order (added lines go last).
            changes = [{"id": c["id"], "quantity": 0} for c in current] + list(wanted)
        if changes:
            body["products"] = changes
        shipping = payload.get("shipping_addresses") or []
        if shipping:
            present = self.api.v2_all(f"{path}/shipping_addresses")
            body["shipping_addresses"] = [
                {**shipping[0], "id": present[0]["id"]} if present else shipping[0]
            ]
        return body

    def delete(self, ids: list[str]) -> list[WriteResult]:
        """Orders are archived (DELETE v2/orders/{id}), as the platform does."""
        results: list[WriteResult] = []
        for order_id in numeric_ids(ids):
            path = f"{PATH}/{order_id}"
            try:
                response = self.api.request("DELETE", path)
            except TransientError as exc:
                results.append(transient(order_id, exc))
                continue
            if response.status_code >= 400 and response.status_code != 404:
                results.append(self.api.failure(order_id, response, "DELETE", path))
            else:
                results.append(ok(order_id, order_id, None, response.status_code))
        return results

    # --- mapping -----------------------------------------------------------------------------

    def to_canonical(self, raw: dict[str, Any]) -> dict[str, Any]:
        if not isinstance(raw, dict):
            raise RecordInvalid("the order is not a JSON object")
        label = f"order {raw.get('id', '?')}"
        lines = raw.get("products")
        if not isinstance(lines, list):
            raise RecordInvalid(f"{label}: its lines were not read (products is not a list)")
        status_id = raw.get("status_id")
        if status_id not in STATUS_FROM_PLATFORM:
            raise RecordInvalid(f"{label}: unknown order status id {status_id!r}")
        billing = raw.get("billing_address") or {}
        shipping = raw.get("shipping_addresses") or []
        if not isinstance(shipping, list):
            raise RecordInvalid(f"{label}: its shipping addresses were not read")
        total_inc = _amount(raw.get("total_inc_tax"), f"{label} total_inc_tax")
        total_ex = _amount(raw.get("total_ex_tax"), f"{label} total_ex_tax")
        return {
            "reference": text(raw.get("external_order_id")) or str(raw.get("id", "")),
            "status": STATUS_FROM_PLATFORM[status_id],
            "currency": text(raw.get("currency_code") or raw.get("default_currency_code")),
            "customer": ref(raw.get("customer_id")),
            "email": text(billing.get("email")),
            "billing": address_in(billing, "billing"),
            "shipping": address_in(shipping[0], "shipping") if shipping else None,
            "lines": [
                {
                    "product": ref(line.get("product_id")),
                    "sku": text(line.get("sku")),
                    "name": text(line.get("name")),
                    "quantity": int(line.get("quantity") or 0),
                    "price": _amount(line.get("price_ex_tax"), f"{label} line price"),
                    "total": _amount(line.get("total_ex_tax"), f"{label} line total"),
                }
                for line in lines
            ],
            "subtotal": _amount(raw.get("subtotal_ex_tax"), f"{label} subtotal"),
            "shipping_total": _amount(raw.get("shipping_cost_ex_tax"), f"{label} shipping"),
            "tax_total": str(Decimal(total_inc) - Decimal(total_ex)),
            "discount_total": _amount(raw.get("discount_amount"), f"{label} discount"),
            "total": total_inc,
            "created_at": canonical_time(raw.get("date_created"), f"{label} date_created"),
            "note": text(raw.get("customer_message")),
        }

    def from_canonical(self, canonical: dict[str, Any]) -> dict[str, Any]:
        status = canonical.get("status")
        if status not in STATUS_TO_PLATFORM:
            raise RecordInvalid(
                f"order status {status!r} is not one of {', '.join(ORDER_STATUSES)}"
            )
        email = canonical.get("email") or ""
        total = Decimal(canonical.get("total") or "0")
        tax = Decimal(canonical.get("tax_total") or "0")
        subtotal = canonical.get("subtotal") or "0.00"
        shipping_total = canonical.get("shipping_total") or "0.00"
        payload: dict[str, Any] = {
            "external_order_id": canonical["reference"],
            "external_source": MIGRATED,
            "status_id": STATUS_TO_PLATFORM[status],
            "customer_id": ref_id(canonical.get("customer")),
            "billing_address": address_out(canonical.get("billing"), email),
            "products": [
                {
                    **({"product_id": int(line["product"])} if line.get("product") else {}),
                    # A line outside the catalog needs a name on the platform.
                    "name": line.get("name") or line.get("sku") or "Item",
                    "sku": line.get("sku") or "",
                    "quantity": int(line.get("quantity") or 0),
                    # Line taxes are not in the canonical record: the order's tax is kept in
                    # its totals, so lines carry the same price with and without tax.
                    "price_ex_tax": line.get("price") or "0.00",
                    "price_inc_tax": line.get("price") or "0.00",
                }
                for line in canonical.get("lines") or []
            ],
            "subtotal_ex_tax": subtotal,
            "subtotal_inc_tax": subtotal,
            "shipping_cost_ex_tax": shipping_total,
            "shipping_cost_inc_tax": shipping_total,
            "discount_amount": canonical.get("discount_total") or "0.00",
            "total_ex_tax": str(total - tax),
            "total_inc_tax": str(total),
            "customer_message": canonical.get("note") or "",
        }
        if canonical.get("currency"):
            payload["currency_code"] = canonical["currency"]
        if canonical.get("shipping"):
            payload["shipping_addresses"] = [address_out(canonical["shipping"], email)]
        created = rfc2822(canonical.get("created_at"))
        if created:
            payload["date_created"] = created
        return payload
