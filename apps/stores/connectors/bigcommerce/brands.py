"""Brands (Catalog v3 `catalog/brands`): one per POST and PUT; a duplicate name is 409."""

from __future__ import annotations

from typing import Any

from apps.stores.connectors.base import Page, RecordInvalid
from apps.stores.connectors.bigcommerce import changes, common
from apps.stores.connectors.bigcommerce.common import (
    BATCH,
    MAX_PAGE,
    chunks,
    last_segment,
    numeric_ids,
    page_number,
)
from apps.stores.connectors.bigcommerce.single import OneByOneHandler

PATH = "v3/catalog/brands"


class BrandHandler(OneByOneHandler):
    path = PATH
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

    def list_ids(self) -> list[str]:
        def page_ids(page: int) -> tuple[list[str], int | None]:
            params = {"page": page, "limit": MAX_PAGE, "include_fields": "id"}
            body = self.api.v3(PATH, params)
            total = body.get("meta", {}).get("pagination", {}).get("total")
            return [str(r["id"]) for r in body["data"]], total

        return changes.stable_ids(page_ids, self.count)

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
