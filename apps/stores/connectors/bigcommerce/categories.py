"""Categories of the store's default category tree (Catalog v3 `catalog/trees/categories`).

A category's natural key is its path (ancestor names and its own, joined by " > "), which only
the whole tree can tell: the handler loads the tree once and keeps it, adding what it writes
and reloading once when a lookup misses (another worker may have written since).

Writes are arrays of at most 10: the platform's team acknowledged failures with more than 10
items per request (bigcommerce/docs#904). A name clashing with a sibling fails that category
alone (207 Multi-Status, or 409 when none was written); an invalid payload refuses the request
(422), and then each category is written alone to find the bad one.
"""

from __future__ import annotations

import re
from typing import Any

import httpx

from apps.stores.connectors.base import (
    ConnectorError,
    Page,
    RecordInvalid,
    TransientError,
    WriteItem,
    WriteResult,
)
from apps.stores.connectors.bigcommerce import changes, common
from apps.stores.connectors.bigcommerce.api import RECORD_STATUSES, message, ok, transient
from apps.stores.connectors.bigcommerce.common import (
    BATCH,
    Handler,
    chunks,
    last_segment,
    numeric_ids,
    ref,
    ref_id,
    require_targets,
    text,
)

PATH = "v3/catalog/trees/categories"
TREE_ID = 1
SEPARATOR = " > "


def slugify(name: str) -> str:
    """A URL segment from a name (lower case, runs of other characters → "-")."""
    return re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-") or "category"


def _index(key: str) -> int | None:
    """The item index of an error key like "3.name"."""
    head = key.split(".", 1)[0]
    return int(head) if head.isdigit() else None


class CategoryHandler(Handler):
    entity = "categories"
    max_write_batch = BATCH

    def __init__(self, api: Any) -> None:
        super().__init__(api)
        self._tree: dict[int, dict[str, Any]] | None = None

    # --- the cached tree ---------------------------------------------------------------------

    def _load(self) -> dict[int, dict[str, Any]]:
        records = self.api.v3_all(PATH, {"tree_id:in": TREE_ID})
        self._tree = {int(record["category_id"]): record for record in records}
        return self._tree

    def tree(self) -> dict[int, dict[str, Any]]:
        return self._tree if self._tree is not None else self._load()

    def _remember(self, records: list[dict[str, Any]]) -> None:
        if self._tree is not None:
            for record in records:
                self._tree[int(record["category_id"])] = record

    def _chain(self, raw: dict[str, Any]) -> list[dict[str, Any]]:
        """The category and its ancestors, root last."""
        tree = self.tree()
        chain = [raw]
        seen = {raw.get("category_id")}
        parent = raw.get("parent_id") or 0
        reloaded = False
        while parent:
            node = tree.get(int(parent))
            if node is None and not reloaded:
                tree, reloaded = self._load(), True
                node = tree.get(int(parent))
            if node is None:
                raise RecordInvalid(
                    f"category {raw.get('category_id')}: parent {parent} is not in the tree"
                )
            if node.get("category_id") in seen:
                raise RecordInvalid(f"category {raw.get('category_id')}: its parents loop")
            seen.add(node.get("category_id"))
            chain.append(node)
            parent = node.get("parent_id") or 0
        return chain

    def path_of(self, raw: dict[str, Any]) -> str:
        return SEPARATOR.join(str(node.get("name")) for node in reversed(self._chain(raw)))

    def _depth(self, raw: dict[str, Any]) -> int:
        return len(self._chain(raw))

    # --- reads -------------------------------------------------------------------------------

    def count(self) -> int:
        return self.api.v3_total(PATH, {"tree_id:in": TREE_ID})

    def read_page(self, cursor: dict[str, Any] | None, page_size: int) -> Page:
        """The whole tree in one page, parents before children (depth, then id), so a tree
        can be written top down from one batch."""
        if common.page_number(cursor) > 1:
            return Page(records=[], total=len(self.tree()), next_cursor=None)
        records = list(self._load().values())
        records.sort(key=lambda r: (self._depth(r), int(r["category_id"])))
        return Page(records=records, total=len(records), next_cursor=None)

    def list_ids(self) -> list[str]:
        def page_ids(page: int) -> tuple[list[str], int | None]:
            params = {"tree_id:in": TREE_ID, "page": page, "limit": common.MAX_PAGE}
            body = self.api.v3(PATH, params)
            total = body.get("meta", {}).get("pagination", {}).get("total")
            return [str(r["category_id"]) for r in body["data"]], total

        return changes.stable_ids(page_ids, self.count)

    def read_by_ids(self, ids: list[str]) -> list[dict[str, Any]]:
        records: list[dict[str, Any]] = []
        for chunk in chunks(numeric_ids(ids), common.IDS_PER_QUERY):
            body = self.api.v3(PATH, {"category_id:in": ",".join(chunk), "limit": common.MAX_PAGE})
            records.extend(body["data"])
        self._remember(records)
        return records

    def find(self, key: str) -> dict[str, Any] | None:
        # Names are unique among siblings without regard to case, so paths compare so too.
        wanted = [part.strip().casefold() for part in key.split(SEPARATOR.strip())]
        for attempt in range(2):
            tree = self.tree() if attempt == 0 else self._load()
            for record in tree.values():
                names = [str(n.get("name")).casefold() for n in reversed(self._chain(record))]
                if names == wanted:
                    return record
        return None

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
        if status in (409, 422) and len(chunk) > 1:
            # Refused whole: write each alone to tell the bad ones from the good.
            return [result for item in chunk for result in self._create_chunk([item])]
        if status >= 400:
            return [self.api.failure(item.ref, response, "POST", PATH) for item in chunk]
        body = self.api.body(response, PATH)
        failed = self._failed_items(body, len(chunk))
        created = list(body.get("data") or [])
        self._remember(created)
        results = []
        for index, item in enumerate(chunk):
            if index in failed:
                results.append(WriteResult(ref=item.ref, ok=False, error=failed[index], status=409))
                continue
            record = self._take(created, item.payload)
            if record is None:
                raise ConnectorError(f"POST {PATH}: category {item.ref} is missing from the answer")
            results.append(ok(item.ref, record["category_id"], record, status))
        return results

    @staticmethod
    def _failed_items(body: dict[str, Any], size: int) -> dict[int, str]:
        """The per-item failures of a 207 answer, by index."""
        errors = body.get("errors") or {}
        details = errors.get("errors") if isinstance(errors, dict) else None
        title = errors.get("title", "") if isinstance(errors, dict) else ""
        failed: dict[int, str] = {}
        for key, reason in (details or {}).items():
            index = _index(str(key))
            if index is not None and index < size:
                failed[index] = f"{title} ({key}: {reason})" if title else str(reason)
        return failed

    @staticmethod
    def _take(created: list[dict[str, Any]], payload: dict[str, Any]) -> dict[str, Any] | None:
        """The created record answering this payload (same name under the same parent)."""
        name = str(payload.get("name", "")).strip().casefold()
        parent = int(payload.get("parent_id") or 0)
        for position, record in enumerate(created):
            same_parent = int(record.get("parent_id") or 0) == parent
            if same_parent and str(record.get("name", "")).casefold() == name:
                return created.pop(position)
        return None

    def update(self, items: list[WriteItem]) -> list[WriteResult]:
        require_targets(items)
        results: list[WriteResult] = []
        written: list[WriteResult] = []
        pending = list(items)
        while pending:
            chunk, pending = pending[:BATCH], pending[BATCH:]
            try:
                outcome = self._update_chunk(chunk)
            except TransientError as exc:
                results.extend(transient(item.ref, exc) for item in [*chunk, *pending])
                break
            results.extend(outcome)
            written.extend(result for result in outcome if result.ok)
        # The platform answers a PUT with counts only: read the written records back.
        if written:
            try:
                by_id = {
                    str(r["category_id"]): r
                    for r in self.read_by_ids([str(r.target_id) for r in written])
                }
            except TransientError:
                by_id = {}
            for result in written:
                result.record = by_id.get(str(result.target_id))
        return results

    def _update_chunk(self, chunk: list[WriteItem]) -> list[WriteResult]:
        body = [{**item.payload, "category_id": int(item.target_id)} for item in chunk]
        response = self.api.request("PUT", PATH, json=body)
        status = response.status_code
        if status in (409, 422) and len(chunk) > 1:
            return [result for item in chunk for result in self._update_chunk([item])]
        if status >= 400:
            return [self.api.failure(item.ref, response, "PUT", PATH) for item in chunk]
        failed = self._failed_items(self._body_or_empty(response), len(chunk))
        return [
            WriteResult(ref=item.ref, ok=False, error=failed[index], status=409)
            if index in failed
            else ok(item.ref, item.target_id, None, status)
            for index, item in enumerate(chunk)
        ]

    @staticmethod
    def _body_or_empty(response: httpx.Response) -> dict[str, Any]:
        try:
            body = response.json()
        except ValueError:
            return {}
        return body if isinstance(body, dict) else {}

    def delete(self, ids: list[str]) -> list[WriteResult]:
        results: list[WriteResult] = []
        for chunk in chunks(numeric_ids(ids), common.IDS_PER_QUERY):
            try:
                response = self.api.request(
                    "DELETE", PATH, params={"category_id:in": ",".join(chunk)}
                )
            except TransientError as exc:
                results.extend(transient(i, exc) for i in chunk)
                continue
            if response.status_code >= 400:
                if response.status_code not in RECORD_STATUSES:
                    raise self.api.refuse("DELETE", PATH, response)
                results.extend(
                    WriteResult(
                        ref=i, ok=False, error=message(response), status=response.status_code
                    )
                    for i in chunk
                )
                continue
            results.extend(ok(i, i, None, response.status_code) for i in chunk)
        # Subcategories go with their parents: the cached tree no longer tells the truth.
        self._tree = None
        return results

    # --- mapping -----------------------------------------------------------------------------

    def to_canonical(self, raw: dict[str, Any]) -> dict[str, Any]:
        if not isinstance(raw, dict) or "category_id" not in raw:
            raise RecordInvalid("the category is not a JSON object with a category_id")
        name = raw.get("name")
        if not isinstance(name, str) or not name.strip():
            raise RecordInvalid(f"category {raw['category_id']} has no name")
        sort_order = raw.get("sort_order") or 0
        if isinstance(sort_order, bool) or not isinstance(sort_order, int):
            raise RecordInvalid(f"category {raw['category_id']}: sort_order is not a number")
        self._remember([raw])
        return {
            "name": name,
            "slug": last_segment((raw.get("url") or {}).get("path")),
            "path": self.path_of(raw),
            "parent": ref(raw.get("parent_id")),
            "description": text(raw.get("description")),
            "sort_order": sort_order,
            "image_url": raw.get("image_url") or None,
        }

    def from_canonical(self, canonical: dict[str, Any]) -> dict[str, Any]:
        names = [part.strip() for part in str(canonical.get("path") or "").split(SEPARATOR.strip())]
        own = canonical.get("slug") or slugify(canonical["name"])
        # The platform's URLs nest like the tree; nesting keeps same-named children of
        # different parents ("Men > Shirts", "Women > Shirts") on different URLs.
        segments = [slugify(name) for name in names[:-1] if name] + [own]
        return {
            "name": canonical["name"],
            "parent_id": ref_id(canonical.get("parent")),
            "tree_id": TREE_ID,
            "description": canonical.get("description") or "",
            "sort_order": int(canonical.get("sort_order") or 0),
            "image_url": canonical.get("image_url") or "",
            "is_visible": True,
            "url": {"path": "/" + "/".join(segments) + "/", "is_customized": True},
        }
