"""Delta reads: the records changed since a moment (`read_changes`), and every id (`list_ids`).

WooCommerce and WordPress page only by `page` / `offset` — there is no keyset ("id greater
than") — so a page is a position in a list that moves while it is read. The scan below makes
positions safe:

- The list is ordered by id ascending and filtered by `modified_after` only (no upper bound).
  A record changed while the list is read gets a later modification time but keeps its id, so
  it stays where it was: editing never moves a record, and a record changed before it was
  reached is returned in its new state. New records get higher ids and join the end. Only a
  deletion (or a record trashed, or a record changed before `since` changing now and joining)
  moves the records behind it by one place.
- Consecutive pages overlap by OVERLAP records. The cursor keeps the offset reached and the
  highest id returned (`last_id`). The next page is read from `offset - OVERLAP`; its first
  record must have an id ≤ last_id. If it does not, records before the offset were deleted and
  unseen ones slid in front of it: the scan steps back (by the overlap doubled, at least by how
  much X-WP-Total shrank) and reads again, until the page starts at or before last_id (or at
  offset 0). Records with id ≤ last_id are dropped, so the overlap is never returned twice.
- Because the list is in id order, a page that starts at or before last_id holds every record
  with a higher id that precedes the page's end, whatever moved meanwhile; the scan ends only
  on a page shorter than the page size (a page is one query: a consistent snapshot).

With nothing moving, each request after the first brings `per_page - OVERLAP` new records: at
100 a page, 3 % more requests than the minimum.

`read_changes` keeps, of what the scan returns, the records modified up to `until` and the ones
modified while the read ran (they may have been in the window when it began; returning them
now is what keeps them from being lost) — see `within`. Records may come twice, never zero
times (DESIGN.md, invariant 3).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import httpx

from apps.stores.connectors.base import ConnectorError, Page, in_read, lower_bound
from apps.stores.connectors.woocommerce.common import BATCH_LIMIT, header_int

#: Records shared by consecutive pages: absorbs that many deletions ahead of the read position
#: without a step back, at a cost of OVERLAP / (per_page - OVERLAP) more requests (3 %).
OVERLAP = 3

# fetch(offset) → the records of the page starting there, and X-WP-Total.
Fetch = Callable[[int], tuple[list[dict[str, Any]], int | None]]


def scan(
    fetch: Fetch, state: dict[str, Any], per_page: int
) -> tuple[list[dict[str, Any]], dict[str, Any] | None]:
    """One page of an id-ordered offset scan that never skips (see the module docstring).

    Returns the records not returned before (id > last_id) and the next state, None at the end.
    """
    offset = int(state.get("offset", 0))
    last = state.get("last_id")
    if last is None:
        start = offset
        records, total = fetch(start)
    else:
        back = OVERLAP
        while True:
            start = max(0, offset - back)
            records, total = fetch(start)
            if start == 0 or (records and int(records[0]["id"]) <= last):
                break
            # The page begins past the last id read: deletions before the offset slid unseen
            # records in front of it. Step back at least as far as the list shrank.
            previous = state.get("total")
            shrank = previous - total if previous is not None and total is not None else 0
            back = max(2 * back, OVERLAP + shrank)
    fresh = [r for r in records if last is None or int(r["id"]) > last]
    if len(records) < per_page:
        return fresh, None
    highest = max(int(r["id"]) for r in records)
    next_state = {
        **state,
        "offset": start + len(records),
        "last_id": highest if last is None else max(last, highest),
        "total": total,
    }
    return fresh, next_state


class ChangesMixin:
    """Delta reads of WooCommerceConnector (needs its `_list_for`, `_embed`, `_check`)."""

    MODIFIED_FILTER: frozenset[str]

    def _list_for(
        self, entity: str, params: dict[str, Any], *, full: bool = True
    ) -> tuple[list[dict[str, Any]], httpx.Response]:
        raise NotImplementedError  # the connector's listing of an entity

    def _fetcher(self, entity: str, params: dict[str, Any], *, full: bool = True) -> Fetch:
        def fetch(offset: int) -> tuple[list[dict[str, Any]], int | None]:
            records, response = self._list_for(entity, {**params, "offset": offset}, full=full)
            return records, header_int(response, "X-WP-Total")

        return fetch

    def supports_changes(self, entity: str) -> bool:
        # Customers and terms have no modified_after on WooCommerce: WordPress ignores it.
        return entity in self.MODIFIED_FILTER

    def read_changes(
        self,
        entity: str,
        since: datetime | None,
        until: datetime,
        cursor: dict[str, Any] | None,
        page_size: int,
    ) -> Page:
        """Records changed in [since, until] by the scan above. The cursor is
        `{"offset", "last_id", "total", "started"}`; a page may hold no record and still have a
        next cursor (only overlap, or records changed after `until`): go on until it is None."""
        self._check(entity)  # type: ignore[attr-defined]
        if not self.supports_changes(entity):
            raise ConnectorError(
                f"WooCommerce cannot list {entity} changed in a time window (it has no "
                "modified_after filter for them): read them all and compare content hashes"
            )
        per_page = max(1, min(page_size, BATCH_LIMIT))
        state = dict(cursor) if cursor else {"started": datetime.now(UTC).isoformat()}
        params: dict[str, Any] = {"per_page": per_page, "orderby": "id", "order": "asc"}
        if since is not None:
            bound = lower_bound(since)
            if entity == "posts":
                # wp/v2 compares the site-local post_modified: a bound with its offset is
                # converted to the site's time zone first.
                params["modified_after"] = bound.isoformat()
            else:
                params["modified_after"] = bound.strftime("%Y-%m-%dT%H:%M:%S")
                params["dates_are_gmt"] = "true"
        records, next_state = scan(self._fetcher(entity, params), state, per_page)
        started = datetime.fromisoformat(state["started"])
        modified_at = self.modified_at  # type: ignore[attr-defined]
        kept = [r for r in records if in_read(modified_at(entity, r), until, started)]
        if entity == "products" and kept:
            kept = self._embed(kept)  # type: ignore[attr-defined]
        return Page(records=kept, total=None, next_cursor=next_state)

    def list_ids(self, entity: str) -> list[str]:
        """Every id, 100 a request with `_fields=id`, by the same scan (a skipped id would
        look deleted at the source)."""
        self._check(entity)  # type: ignore[attr-defined]
        params = {"per_page": BATCH_LIMIT, "orderby": "id", "order": "asc", "_fields": "id"}
        fetch = self._fetcher(entity, params, full=False)
        ids: list[str] = []
        state: dict[str, Any] | None = {}
        while state is not None:
            records, state = scan(fetch, state, BATCH_LIMIT)
            ids.extend(str(r["id"]) for r in records)
        return ids
