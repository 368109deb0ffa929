"""Customers with their addresses (Customers API v3 `customers`, `customers/addresses`).

The platform's limits shape every write: at most 10 customers per request, all or nothing
(one email already in use refuses the whole array with 422, so a refused batch is retried one
customer at a time to find the culprit), and at most 3 requests in flight per store. A 4th
concurrent request is answered 429 with a short reset, which the HTTP client waits out like
any 429; the handler also never has more than 3 of its own requests in flight.

A customer update cannot touch addresses ("subresource updates are not supported"): they are
brought in line afterwards through `customers/addresses`, matched by position.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from datetime import datetime
from typing import Any

import httpx

from apps.stores.connectors.base import (
    Page,
    RecordInvalid,
    TransientError,
    WriteItem,
    WriteResult,
    lower_bound,
)
from apps.stores.connectors.bigcommerce import changes, common
from apps.stores.connectors.bigcommerce.api import Api, delete_in, message, ok, transient
from apps.stores.connectors.bigcommerce.common import (
    BATCH,
    MAX_PAGE,
    Handler,
    chunks,
    numeric_ids,
    page_number,
    require_targets,
    text,
)

PATH = "v3/customers"
ADDRESSES = "v3/customers/addresses"
CONCURRENT = 3
_DUPLICATE_HINTS = ("already in use", "already exists", "duplicate")


class GatedApi(Api):
    """An Api that keeps at most `limit` of its requests in flight at once."""

    def __init__(self, api: Api, limit: int) -> None:
        super().__init__(api.client)
        self.gate = threading.BoundedSemaphore(limit)

    def request(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        with self.gate:
            return super().request(method, path, **kwargs)


def _duplicate(result: WriteResult) -> WriteResult:
    """Flag a refusal that says the email is taken, so the engine looks the customer up."""
    if not result.ok and any(hint in result.error.lower() for hint in _DUPLICATE_HINTS):
        result.extra["duplicate"] = True
    return result


def address_in(raw: dict[str, Any], kind: str) -> dict[str, Any]:
    return {
        "type": kind,
        "first_name": text(raw.get("first_name")),
        "last_name": text(raw.get("last_name")),
        "company": text(raw.get("company")),
        "line1": text(raw.get("address1")),
        "line2": text(raw.get("address2")),
        "city": text(raw.get("city")),
        "state": text(raw.get("state_or_province")),
        "postcode": text(raw.get("postal_code")),
        "country": text(raw.get("country_code")).upper(),
        "phone": text(raw.get("phone")),
    }


def address_out(address: dict[str, Any]) -> dict[str, Any]:
    return {
        "first_name": address.get("first_name") or "",
        "last_name": address.get("last_name") or "",
        "company": address.get("company") or "",
        "address1": address.get("line1") or "",
        "address2": address.get("line2") or "",
        "city": address.get("city") or "",
        "state_or_province": address.get("state") or "",
        "postal_code": address.get("postcode") or "",
        "country_code": address.get("country") or "",
        "phone": address.get("phone") or "",
        "address_type": "residential",
    }


def _empty(address: dict[str, Any]) -> bool:
    return not any(address.get(key) for key in ("line1", "line2", "city", "postcode"))


class CustomerHandler(Handler):
    entity = "customers"
    max_write_batch = BATCH
    changes = True

    def __init__(self, api: Api) -> None:
        super().__init__(GatedApi(api, CONCURRENT))

    # --- reads -------------------------------------------------------------------------------

    def count(self) -> int:
        return self.api.v3_total(PATH)

    def read_page(self, cursor: dict[str, Any] | None, page_size: int) -> Page:
        page = page_number(cursor)
        body = self.api.v3(
            PATH,
            {"page": page, "limit": max(1, min(page_size, MAX_PAGE)), "include": "addresses"},
        )
        pagination = body.get("meta", {}).get("pagination", {})
        more = page < int(pagination.get("total_pages", 0))
        return Page(
            records=body["data"],
            total=pagination.get("total"),
            next_cursor={"page": page + 1} if more else None,
        )

    def _list(self, params: dict[str, Any]) -> tuple[list[dict[str, Any]], dict[str, Any]]:
        body = self.api.v3(PATH, params)
        return body["data"], body.get("meta", {}).get("pagination", {})

    def read_changes(
        self,
        since: datetime | None,
        until: datetime,
        cursor: dict[str, Any] | None,
        page_size: int,
    ) -> Page:
        """Keyset on creation time inside the modification filter (the platform has no id
        keyset for customers); see changes.CreatedScan. A page may hold no record and still
        have a next cursor: go on until it is None."""
        state = dict(cursor) if cursor else {"started": changes.now_iso()}
        scan = changes.CreatedScan(
            lambda params: self._list({**params, "include": "addresses"}),
            changes.limit_of(page_size),
            lower_bound(since) if since is not None else None,
        )
        records, next_state = scan.step(state)
        started = changes.started_at(state)
        kept = [r for r in records if changes.within(r, until, started)]
        return Page(records=kept, total=None, next_cursor=next_state)

    def list_ids(self) -> list[str]:
        return changes.collect_ids(changes.CreatedScan(self._list, MAX_PAGE).step)

    def read_by_ids(self, ids: list[str]) -> list[dict[str, Any]]:
        records: list[dict[str, Any]] = []
        for chunk in chunks(numeric_ids(ids), common.IDS_PER_QUERY):
            body = self.api.v3(
                PATH, {"id:in": ",".join(chunk), "limit": MAX_PAGE, "include": "addresses"}
            )
            records.extend(body["data"])
        return records

    def find(self, key: str) -> dict[str, Any] | None:
        wanted = key.strip().casefold()
        body = self.api.v3(PATH, {"email:in": wanted, "include": "addresses", "limit": 5})
        return next((r for r in body["data"] if str(r.get("email")).casefold() == wanted), None)

    # --- writes ------------------------------------------------------------------------------

    def create(self, items: list[WriteItem]) -> list[WriteResult]:
        results: list[WriteResult] = []
        pending = list(items)
        while pending:
            chunk, pending = pending[:BATCH], pending[BATCH:]
            try:
                results.extend(self._create_chunk(chunk))
            except TransientError as exc:
                results.extend(transient(item.ref, exc) for item in [*chunk, *pending])
                break
        return results

    def _create_chunk(self, chunk: list[WriteItem]) -> list[WriteResult]:
        response = self.api.request("POST", PATH, json=[item.payload for item in chunk])
        status = response.status_code
        if status in (409, 413, 422) and len(chunk) > 1:
            # All or nothing: write each alone so only the bad ones fail.
            return [result for item in chunk for result in self._create_chunk([item])]
        if status >= 400:
            return [_duplicate(self.api.failure(chunk[0].ref, response, "POST", PATH))]
        by_email = {
            str(record.get("email")).casefold(): record for record in self.api.data(response, PATH)
        }
        results = []
        for item in chunk:
            record = by_email.get(str(item.payload.get("email")).casefold())
            if record is None:
                results.append(
                    WriteResult(
                        ref=item.ref, ok=False, error="missing from the answer", status=status
                    )
                )
            else:
                results.append(ok(item.ref, record["id"], record, status))
        return results

    def update(self, items: list[WriteItem]) -> list[WriteResult]:
        require_targets(items)
        try:
            targets = {str(r["id"]): r for r in self.read_by_ids([i.target_id for i in items])}
        except TransientError as exc:
            return [transient(item.ref, exc) for item in items]
        results: dict[str, WriteResult] = {}
        pending = list(items)
        while pending:
            chunk, pending = pending[:BATCH], pending[BATCH:]
            try:
                results.update((r.ref, r) for r in self._update_chunk(chunk))
            except TransientError as exc:
                results.update((i.ref, transient(i.ref, exc)) for i in [*chunk, *pending])
                break
        written = [item for item in items if results[item.ref].ok]
        self._sync_addresses(written, targets, results)
        # Read back what was written, addresses included, for the records.
        done = [item for item in written if results[item.ref].ok]
        if done:
            try:
                fresh = {str(r["id"]): r for r in self.read_by_ids([i.target_id for i in done])}
            except TransientError:
                fresh = {}
            for item in done:
                results[item.ref].record = fresh.get(str(item.target_id))
        return [results[item.ref] for item in items]

    def _update_chunk(self, chunk: list[WriteItem]) -> list[WriteResult]:
        body = [
            {
                **{k: v for k, v in item.payload.items() if k != "addresses"},
                "id": int(item.target_id),
            }
            for item in chunk
        ]
        response = self.api.request("PUT", PATH, json=body)
        status = response.status_code
        if status in (409, 413, 422) and len(chunk) > 1:
            return [result for item in chunk for result in self._update_chunk([item])]
        if status >= 400:
            return [_duplicate(self.api.failure(chunk[0].ref, response, "PUT", PATH))]
        return [ok(item.ref, item.target_id, None, status) for item in chunk]

    def _sync_addresses(
        self,
        items: list[WriteItem],
        targets: dict[str, dict[str, Any]],
        results: dict[str, WriteResult],
    ) -> None:
        """Bring each customer's addresses in line with the payload, position by position."""
        changes: list[tuple[str, dict[str, Any]]] = []
        additions: list[tuple[str, dict[str, Any]]] = []
        removals: list[tuple[str, int]] = []
        for item in items:
            target = targets.get(str(item.target_id)) or {}
            current = target.get("addresses") or []
            wanted = item.payload.get("addresses") or []
            for position, address in enumerate(wanted):
                if position < len(current):
                    present = current[position]
                    if any(present.get(key, "") != value for key, value in address.items()):
                        changes.append((item.ref, {**address, "id": present["id"]}))
                else:
                    additions.append((item.ref, {**address, "customer_id": int(item.target_id)}))
            removals += [(item.ref, present["id"]) for present in current[len(wanted) :]]
        self._send_all(changes, results, lambda batch: self._addresses("PUT", batch))
        self._send_all(additions, results, lambda batch: self._addresses("POST", batch))
        self._send_all(removals, results, self._remove_addresses)

    def _addresses(self, method: str, batch: list[tuple[str, Any]]) -> httpx.Response:
        return self.api.request(method, ADDRESSES, json=[address for _, address in batch])

    def _remove_addresses(self, batch: list[tuple[str, Any]]) -> httpx.Response:
        ids = ",".join(str(address_id) for _, address_id in batch)
        return self.api.request("DELETE", ADDRESSES, params={"id:in": ids})

    def _send_all(
        self,
        entries: list[tuple[str, Any]],
        results: dict[str, WriteResult],
        send: Callable[[list[tuple[str, Any]]], httpx.Response],
    ) -> None:
        """Send address writes 10 at a time; a refused batch is sent again entry by entry, so
        only the customers whose addresses the platform refuses fail."""
        for chunk in chunks(entries, BATCH):
            response = self._attribute(chunk, results, lambda chunk=chunk: send(chunk))
            if response is not None and response.status_code >= 400 and len(chunk) > 1:
                for entry in chunk:
                    self._attribute([entry], results, lambda entry=entry: send([entry]))

    def _attribute(
        self,
        owners: list[tuple[str, Any]],
        results: dict[str, WriteResult],
        send: Callable[[], httpx.Response],
    ) -> httpx.Response | None:
        """Send an address request and fail its customers' results if it fails (a single
        owner only: a refused batch is retried entry by entry by the caller)."""
        refs = {ref for ref, _ in owners}
        try:
            response = send()
        except TransientError as exc:
            for ref in refs:
                results[ref] = transient(ref, exc)
            return None
        if response.status_code >= 400 and len(owners) == 1:
            [ref] = refs
            results[ref] = WriteResult(
                ref=ref,
                ok=False,
                error=f"addresses: {message(response)}",
                status=response.status_code,
            )
        return response

    def delete(self, ids: list[str]) -> list[WriteResult]:
        return delete_in(self.api, PATH, ids)

    # --- mapping -----------------------------------------------------------------------------

    def to_canonical(self, raw: dict[str, Any]) -> dict[str, Any]:
        if not isinstance(raw, dict):
            raise RecordInvalid("the customer is not a JSON object")
        email = raw.get("email")
        if not isinstance(email, str) or "@" not in email:
            raise RecordInvalid(f"customer {raw.get('id', '?')} has no email address")
        addresses = raw.get("addresses") or []
        if not isinstance(addresses, list):
            raise RecordInvalid(f"customer {raw.get('id', '?')}: addresses is not a list")
        return {
            "email": email.strip().lower(),
            "first_name": text(raw.get("first_name")),
            "last_name": text(raw.get("last_name")),
            "company": text(raw.get("company")),
            "phone": text(raw.get("phone")),
            "accepts_marketing": bool(raw.get("accepts_product_review_abandoned_cart_emails")),
            # The platform keeps a plain list of addresses: the first stands for billing.
            "addresses": [
                address_in(address, "billing" if position == 0 else "shipping")
                for position, address in enumerate(addresses)
            ],
        }

    def from_canonical(self, canonical: dict[str, Any]) -> dict[str, Any]:
        return {
            "email": canonical["email"],
            "first_name": canonical.get("first_name") or "",
            "last_name": canonical.get("last_name") or "",
            "company": canonical.get("company") or "",
            "phone": canonical.get("phone") or "",
            "accepts_product_review_abandoned_cart_emails": bool(
                canonical.get("accepts_marketing")
            ),
            # Billing first, as the canonical list is; an address with nothing in it is none.
            "addresses": [
                address_out(address)
                for address in canonical.get("addresses") or []
                if not _empty(address)
            ],
        }
