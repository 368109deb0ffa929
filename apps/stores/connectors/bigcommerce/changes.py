"""Delta reads on BigCommerce: the records changed since a moment, and every id, by scans that
never skip a record while the store keeps changing.

What the platform can filter and page by decides the scan:

- v3 products: `date_modified:min` and `id:greater` with `sort=id` — a true keyset. The cursor
  is the last id returned; a record deleted or changed behind it moves nothing.
- v2 orders: `min_date_modified` and `min_id` with `sort=id:asc` — the same keyset.
- v3 customers: `date_modified:min` but no id keyset and no id sort, only page numbers and
  `sort=date_created:asc` with `date_created:min/max`. A creation time never changes, so it is
  the key: the cursor holds the last creation second reached and the ids already returned at
  it. When a whole page shares one creation second (a bulk import), that second is read as a
  group by page numbers, bracketed by two counts of the group; the group of a past second can
  only shrink, so equal counts prove no page shifted, and a smaller one makes the group be
  read again (records may come twice, never zero times).
- categories, brands, blog posts: no modification time at all (supports_changes is False, a
  delta compares content hashes of a full read).

The modification filter has a lower bound only: a record changed while the scan runs keeps its
place (its id or creation time) and is returned in its new state, instead of leaving the
window unseen. Of what the scan returns, `within` keeps the records changed up to `until` and
those changed while the read ran (they may have been in the window when it began).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

from apps.stores.connectors.base import ConnectorError, in_read, utc
from apps.stores.connectors.bigcommerce.common import MAX_PAGE, parse_time


def now_iso() -> str:
    return datetime.now(UTC).isoformat()


def v3_time(moment: datetime) -> str:
    """A UTC moment as the v3 filters take it (ISO 8601 with its offset, whole seconds)."""
    return utc(moment).strftime("%Y-%m-%dT%H:%M:%S+00:00")


def within(raw: dict[str, Any], until: datetime, started: datetime) -> bool:
    return in_read(parse_time(raw.get("date_modified")), until, started)


def started_at(state: dict[str, Any]) -> datetime:
    return datetime.fromisoformat(state["started"])


def limit_of(page_size: int) -> int:
    return max(1, min(page_size, MAX_PAGE))


# --- keyset scans ----------------------------------------------------------------------------


def id_keyset(
    fetch: Callable[[int | None], list[dict[str, Any]]],
    state: dict[str, Any],
    limit: int,
    key: str = "id",
) -> tuple[list[dict[str, Any]], dict[str, Any] | None]:
    """One page of records with ids above the cursor's `after_id`, in id order. A full page
    may not be the last: the next page asks for ids above its last one."""
    records = fetch(state.get("after_id"))
    if len(records) < limit:
        return records, None
    return records, {**state, "after_id": max(int(r[key]) for r in records)}


def collect_ids(
    step: Callable[[dict[str, Any]], tuple[list[dict[str, Any]], dict[str, Any] | None]],
    key: str = "id",
) -> list[str]:
    ids: dict[str, None] = {}
    state: dict[str, Any] | None = {}
    while state is not None:
        records, state = step(state)
        ids.update((str(r[key]), None) for r in records)
    return list(ids)


# --- creation-time keyset (v3 customers) -----------------------------------------------------


class CreatedScan:
    """The creation-time keyset described in the module docstring.

    `fetch(params)` answers one v3 list request as (data, meta pagination). The state is
    `{"after": iso, "seen": [ids]}` on the main path and `{"group": iso, "page": n, "pre":
    count}` while one creation second is read as a group.
    """

    SORT = "date_created:asc"

    def __init__(
        self,
        fetch: Callable[[dict[str, Any]], tuple[list[dict[str, Any]], dict[str, Any]]],
        limit: int,
        modified_min: datetime | None = None,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.fetch = fetch
        self.limit = limit
        self.modified_min = modified_min
        self.sleep = sleep

    def step(self, state: dict[str, Any]) -> tuple[list[dict[str, Any]], dict[str, Any] | None]:
        if state.get("group"):
            return self._group(state)
        params: dict[str, Any] = {"sort": self.SORT, "limit": self.limit, "page": 1}
        if self.modified_min is not None:
            params["date_modified:min"] = v3_time(self.modified_min)
        if state.get("after"):
            params["date_created:min"] = state["after"]
        seen = {int(i) for i in state.get("seen", [])}
        rows, _ = self.fetch(params)
        fresh = [r for r in rows if int(r["id"]) not in seen]
        if len(rows) < self.limit:
            return fresh, None
        first, last = _created(rows[0]), _created(rows[-1])
        if first == last:
            # A full page of one creation second: it may hold more than a page, which only
            # page numbers can reach. Read it as a group (these records come again).
            return fresh, _base(state) | {"group": _iso(last), "page": 1, "pre": None}
        tail = [int(r["id"]) for r in rows if _created(r) == last]
        return fresh, _base(state) | {"after": _iso(last), "seen": tail}

    def _group(self, state: dict[str, Any]) -> tuple[list[dict[str, Any]], dict[str, Any] | None]:
        second = state["group"]
        group = {"date_created:min": second, "date_created:max": second}
        pre = state.get("pre")
        if pre is None:
            self._settle(datetime.fromisoformat(second))
            pre = self._count(group)
        page = int(state.get("page", 1))
        rows, pagination = self.fetch({**group, "limit": self.limit, "page": page})
        # No modification filter inside the group: with it, a record changed now would join
        # the group and could hide a deletion from the counts. It is applied here instead.
        fresh = [r for r in rows if self._recent(r)]
        if len(rows) == self.limit and page < int(pagination.get("total_pages") or 0):
            return fresh, state | {"page": page + 1, "pre": pre}
        post = self._count(group)
        if post != pre:
            # A member was deleted during the pass: a later page may have shifted past one.
            return fresh, state | {"page": 1, "pre": post}
        after = datetime.fromisoformat(second) + timedelta(seconds=1)
        return fresh, _base(state) | {"after": _iso(after), "seen": []}

    def _count(self, params: dict[str, Any]) -> int:
        _, pagination = self.fetch({**params, "limit": 1, "page": 1})
        return int(pagination.get("total") or 0)

    def _recent(self, raw: dict[str, Any]) -> bool:
        if self.modified_min is None:
            return True
        modified = parse_time(raw.get("date_modified"))
        return modified is None or modified >= self.modified_min

    def _settle(self, second: datetime) -> None:
        """A group of the current second could still grow; wait until it is past (the two
        clocks' disagreement aside), so that the group can only shrink while it is read."""
        wait = (second + timedelta(seconds=2) - datetime.now(UTC)).total_seconds()
        if wait > 0:
            self.sleep(wait)


def _created(raw: dict[str, Any]) -> datetime:
    moment = parse_time(raw.get("date_created"))
    if moment is None:
        # The creation time is the scan's key: without it the scan cannot promise anything.
        raise ConnectorError(f"customer {raw.get('id')} has no date_created")
    return moment


def _iso(moment: datetime) -> str:
    return v3_time(utc(moment))


def _base(state: dict[str, Any]) -> dict[str, Any]:
    """What every state keeps across modes (the read's start time)."""
    return {key: state[key] for key in ("started",) if key in state}


# --- page-number scans (small entities) ------------------------------------------------------


def stable_ids(
    page_ids: Callable[[int], tuple[list[str], int | None]], count: Callable[[], int]
) -> list[str]:
    """Every id of a list that pages only by page number (categories, brands, blog posts).

    One page is one query, a snapshot: a list that fits in one page is read once. Over several
    pages a deletion could shift a record past a page boundary, so the list is read again (the
    ids united) until a pass begins and ends with the same count and found that many ids. What
    this cannot see is a deletion exactly balanced by a creation during one pass: these lists
    are small (one page in practice), and a caller deleting "missing" records should confirm
    them with read_by_ids. `page_ids(n)` answers page n (of MAX_PAGE) and its total, if any."""
    ids: dict[str, None] = {}
    before: int | None = None  # a count taken before the pass's first page
    while True:
        found: dict[str, None] = {}
        page = 1
        while True:
            batch, total = page_ids(page)
            found.update((i, None) for i in batch)
            if page == 1 and before is None:
                if len(batch) < MAX_PAGE:
                    return list(found)
                before = total
                if before is None:
                    # No total with the page: count first, then read from page 1 again.
                    before, found = count(), {}
                    continue
            if len(batch) < MAX_PAGE:
                break
            page += 1
        ids.update(found)
        after = count()
        if before == after == len(found):
            return list(ids)
        before = after
