"""Requests to one BigCommerce store, v3 and v2, over the shared HttpClient.

v3 answers in envelopes ({"data", "meta"}, errors {"status", "title", "errors"}); v2 answers
with bare arrays, 204 No Content (empty body) for an empty list or a page past the end, and
errors as [{"status", "message"}]. These helpers hide the difference from the handlers.
"""

from __future__ import annotations

from typing import Any

import httpx

from apps.stores.connectors.base import ConnectorError, TransientError, WriteResult
from apps.stores.connectors.bigcommerce.common import IDS_PER_QUERY, MAX_PAGE, chunks, numeric_ids
from apps.stores.connectors.http import HttpClient, error_message

# Statuses that concern one record's content: the record fails alone, the batch goes on.
RECORD_STATUSES = {400, 404, 409, 413, 422}


def message(response: httpx.Response) -> str:
    """The human part of an error body, v2 array or v3 envelope."""
    try:
        body = response.json()
    except ValueError:
        return response.reason_phrase or "error"
    if isinstance(body, list):
        parts = [str(e["message"]) for e in body if isinstance(e, dict) and e.get("message")]
        if parts:
            return "; ".join(parts)
    return error_message(response)


def ok(ref: str, target_id: Any, record: dict[str, Any] | None, status: int) -> WriteResult:
    return WriteResult(ref=ref, ok=True, target_id=str(target_id), record=record, status=status)


def transient(ref: str, exc: TransientError) -> WriteResult:
    return WriteResult(ref=ref, ok=False, error=str(exc), status=exc.status, retryable=True)


def delete_in(api: Api, path: str, ids: list[str], param: str = "id:in") -> list[WriteResult]:
    """Delete records by id, a query's worth of ids a request (`DELETE path?id:in=1,2,3`)."""
    results: list[WriteResult] = []
    for chunk in chunks(numeric_ids(ids), IDS_PER_QUERY):
        try:
            response = api.request("DELETE", path, params={param: ",".join(chunk)})
        except TransientError as exc:
            results.extend(transient(i, exc) for i in chunk)
            continue
        if response.status_code >= 400:
            failure = api.failure(chunk[0], response, "DELETE", path)
            results.extend(
                WriteResult(ref=i, ok=False, error=failure.error, status=failure.status)
                for i in chunk
            )
            continue
        results.extend(ok(i, i, None, response.status_code) for i in chunk)
    return results


class Api:
    def __init__(self, client: HttpClient) -> None:
        self.client = client

    def request(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        return self.client.request(method, path, **kwargs)

    def refuse(self, method: str, path: str, response: httpx.Response) -> ConnectorError:
        return ConnectorError(
            f"{method} {path}: HTTP {response.status_code}: {message(response)}",
            status=response.status_code,
        )

    def failure(self, ref: str, response: httpx.Response, method: str, path: str) -> WriteResult:
        """A refused write of one record; raises when the refusal is about the connection
        (401/403 and the like), which would refuse every other record too."""
        if response.status_code not in RECORD_STATUSES:
            raise self.refuse(method, path, response)
        return WriteResult(ref=ref, ok=False, error=message(response), status=response.status_code)

    @staticmethod
    def body(response: httpx.Response, path: str) -> Any:
        try:
            return response.json()
        except ValueError:
            raise ConnectorError(
                f"{path}: HTTP {response.status_code} answer is not JSON",
                status=response.status_code,
            ) from None

    def data(self, response: httpx.Response, path: str) -> Any:
        body = self.body(response, path)
        if not isinstance(body, dict) or "data" not in body:
            raise ConnectorError(f"{path}: HTTP {response.status_code} answer has no data")
        return body["data"]

    # --- v3 ----------------------------------------------------------------------------------

    def v3(self, path: str, params: dict[str, Any] | None = None) -> dict[str, Any]:
        response = self.request("GET", path, params=params)
        if response.status_code >= 400:
            raise self.refuse("GET", path, response)
        body = self.body(response, path)
        if not isinstance(body, dict) or not isinstance(body.get("data"), list | dict):
            raise ConnectorError(f"GET {path}: the response has no data")
        return body

    def v3_total(self, path: str, params: dict[str, Any] | None = None) -> int:
        body = self.v3(path, {**(params or {}), "limit": 1})
        try:
            return int(body["meta"]["pagination"]["total"])
        except (KeyError, TypeError, ValueError):
            raise ConnectorError(f"GET {path}: the response has no pagination total") from None

    def v3_all(self, path: str, params: dict[str, Any] | None = None) -> list[dict[str, Any]]:
        """Every record a filter matches, page by page."""
        records: list[dict[str, Any]] = []
        page = 1
        while True:
            body = self.v3(path, {**(params or {}), "page": page, "limit": MAX_PAGE})
            records.extend(body["data"])
            pagination = body.get("meta", {}).get("pagination", {})
            if page >= int(pagination.get("total_pages", 0) or 0) or not body["data"]:
                return records
            page += 1

    # --- v2 ----------------------------------------------------------------------------------

    def v2_list(self, path: str, params: dict[str, Any] | None = None) -> list[dict[str, Any]]:
        """A v2 list: a bare array, or 204 with no body for none."""
        response = self.request("GET", path, params=params)
        if response.status_code == 204 or (response.status_code < 300 and not response.content):
            return []
        if response.status_code >= 400:
            raise self.refuse("GET", path, response)
        body = self.body(response, path)
        if not isinstance(body, list):
            raise ConnectorError(f"GET {path}: expected a JSON array")
        return body

    def v2_all(self, path: str, params: dict[str, Any] | None = None) -> list[dict[str, Any]]:
        records: list[dict[str, Any]] = []
        page = 1
        while True:
            batch = self.v2_list(path, {**(params or {}), "page": page, "limit": MAX_PAGE})
            records.extend(batch)
            if len(batch) < MAX_PAGE:
                return records
            page += 1

    def v2_object(self, path: str, params: dict[str, Any] | None = None) -> dict[str, Any] | None:
        """One v2 object, or None when it is not there (404)."""
        response = self.request("GET", path, params=params)
        if response.status_code == 404:
            return None
        if response.status_code >= 400:
            raise self.refuse("GET", path, response)
        body = self.body(response, path)
        if not isinstance(body, dict):
            raise ConnectorError(f"GET {path}: expected a JSON object")
        return body
