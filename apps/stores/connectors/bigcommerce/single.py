"""Handlers for resources BigCommerce writes one record per request (brands, blog posts)."""

from __future__ import annotations

from typing import Any

from apps.stores.connectors.base import TransientError, WriteItem, WriteResult
from apps.stores.connectors.bigcommerce.api import ok, transient
from apps.stores.connectors.bigcommerce.common import Handler, numeric_ids, require_targets


class OneByOneHandler(Handler):
    """POST to create, PUT /{id} to update, DELETE /{id} to delete, one record a request.

    A passing fault stops the batch: the records not yet sent come back retryable, so the
    engine retries them (and looks up any create whose answer was lost)."""

    path = ""
    #: v3 answers {"data": {...}}; v2 answers the bare record.
    enveloped = True

    def _record(self, response: Any, path: str) -> dict[str, Any]:
        if self.enveloped:
            return self.api.data(response, path)
        return self.api.body(response, path)

    def _write(self, items: list[WriteItem], method: str) -> list[WriteResult]:
        results: list[WriteResult] = []
        for index, item in enumerate(items):
            path = self.path if method == "POST" else f"{self.path}/{int(item.target_id)}"
            try:
                response = self.api.request(method, path, json=item.payload)
            except TransientError as exc:
                results.extend(transient(rest.ref, exc) for rest in items[index:])
                break
            if response.status_code >= 400:
                results.append(self.api.failure(item.ref, response, method, path))
                continue
            record = self._record(response, path)
            results.append(ok(item.ref, record["id"], record, response.status_code))
        return results

    def create(self, items: list[WriteItem]) -> list[WriteResult]:
        return self._write(items, "POST")

    def update(self, items: list[WriteItem]) -> list[WriteResult]:
        require_targets(items)
        return self._write(items, "PUT")

    def delete(self, ids: list[str]) -> list[WriteResult]:
        results: list[WriteResult] = []
        for record_id in numeric_ids(ids):
            path = f"{self.path}/{record_id}"
            try:
                response = self.api.request("DELETE", path)
            except TransientError as exc:
                results.append(transient(record_id, exc))
                continue
            # Already gone is what a delete wants.
            if response.status_code >= 400 and response.status_code != 404:
                results.append(self.api.failure(record_id, response, "DELETE", path))
            else:
                results.append(ok(record_id, record_id, None, response.status_code))
        return results
