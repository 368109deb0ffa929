"""Brands (Catalog v3 `catalog/brands`): one per POST and PUT; a duplicate name is 409."""

from __future__ import annotations

from typing import Any

from apps.stores.connectors.base import Page, RecordInvalid, TransientError, WriteItem, WriteResult
from apps.stores.connectors.bigcommerce import common
from apps.stores.connectors.bigcommerce.api import ok, transient
from apps.stores.connectors.bigcommerce.common import (
    BATCH,
    MAX_PAGE,
    Handler,
    chunks,
    last_segment,
    numeric_ids,
    page_number,
    require_targets,
)

PATH = "v3/catalog/brands"


class BrandHandler(Handler):
    entity = "brands"
    max_write_batch = BATCH

    def count(self) -> int:
        return self.api.v3_total(PATH)

    def read_page(self, cursor: dict[str, Any] | None, page_size: int) -> Page:
        page = page_number(cursor)
        body = self.api.v3(PATH, {"page": page, "limit": max(1, min(page_size, MAX_PAGE))})
        pagination = body.get("meta", {}).get("pagination", {})
        more = page < int(pagination.get("total_pages", 0))
        return Page(
            records=body["data"],
            total=pagination.get("total"),
            next_cursor={"page": page + 1} if more else None,
        )

    def read_by_ids(self, ids: list[str]) -> list[dict[str, Any]]:
        records: list[dict[str, Any]] = []
        for chunk in chunks(numeric_ids(ids), common.IDS_PER_QUERY):
            records.extend(self.api.v3(PATH, {"id:in": ",".join(chunk), "limit": MAX_PAGE})["data"])
        return records

    def find(self, key: str) -> dict[str, Any] | None:
        body = self.api.v3(PATH, {"name": key, "limit": 5})
        # Brand names are unique without regard to case on the platform.
        wanted = key.strip().casefold()
        return next((r for r in body["data"] if str(r.get("name")).casefold() == wanted), None)

    def _write(self, items: list[WriteItem], method: str) -> list[WriteResult]:
        results: list[WriteResult] = []
        for index, item in enumerate(items):
            path = PATH if method == "POST" else f"{PATH}/{int(item.target_id)}"
            try:
                response = self.api.request(method, path, json=item.payload)
            except TransientError as exc:
                results.extend(transient(rest.ref, exc) for rest in items[index:])
                break
            if response.status_code >= 400:
                results.append(self.api.failure(item.ref, response, method, path))
                continue
            record = self.api.data(response, path)
            results.append(ok(item.ref, record["id"], record, response.status_code))
        return results

    def create(self, items: list[WriteItem]) -> list[WriteResult]:
        return self._write(items, "POST")

    def update(self, items: list[WriteItem]) -> list[WriteResult]:
        require_targets(items)
        return self._write(items, "PUT")

    def delete(self, ids: list[str]) -> list[WriteResult]:
        results: list[WriteResult] = []
        for brand_id in numeric_ids(ids):
            path = f"{PATH}/{brand_id}"
            try:
                response = self.api.request("DELETE", path)
            except TransientError as exc:
                results.append(transient(brand_id, exc))
                continue
            # Already gone is what a delete wants.
            if response.status_code >= 400 and response.status_code != 404:
                results.append(self.api.failure(brand_id, response, "DELETE", path))
            else:
                results.append(ok(brand_id, brand_id, None, response.status_code))
        return results

    def to_canonical(self, raw: dict[str, Any]) -> dict[str, Any]:
        if not isinstance(raw, dict):
            raise RecordInvalid("the brand is not a JSON object")
        name = raw.get("name")
        if not isinstance(name, str) or not name.strip():
            raise RecordInvalid(f"brand {raw.get('id', '?')} has no name")
        return {
            "name": name,
            "slug": last_segment((raw.get("custom_url") or {}).get("url")),
            "image_url": raw.get("image_url") or None,
        }

    def from_canonical(self, canonical: dict[str, Any]) -> dict[str, Any]:
        payload: dict[str, Any] = {
            "name": canonical["name"],
            "image_url": canonical.get("image_url") or "",
        }
        if canonical.get("slug"):
            payload["custom_url"] = {"url": f"/{canonical['slug']}/", "is_customized": True}
        return payload
