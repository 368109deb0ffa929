"""What every BigCommerce entity handler shares: limits, value conversions, the handler base."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from decimal import Decimal
from email.utils import format_datetime, parsedate_to_datetime
from typing import Any

from apps.stores.connectors.base import ConnectorError, Page, RecordInvalid, WriteItem, WriteResult

# Page size cap of every list endpoint used here (v3 `limit`, v2 `limit`).
MAX_PAGE = 250
# Records per batch write where the platform takes arrays (products PUT, customers, categories).
BATCH = 10
# Ids per `id:in` query: keeps URLs short and matches the page size that brings them back.
IDS_PER_QUERY = 100


def chunks(values: list[Any], size: int) -> Iterator[list[Any]]:
    for start in range(0, len(values), size):
        yield values[start : start + size]


def numeric_ids(ids: list[str]) -> list[str]:
    """Platform ids are integers; anything else is a caller's bug, refused before a request."""
    return [str(int(i)) for i in ids]


def text(value: Any) -> str:
    return "" if value is None else str(value)


def number(value: str | None) -> float | None:
    # The v3 API's JSON wants numbers, not strings; canonical prices have two places, which a
    # float carries exactly enough for money() to give the same string back.
    return None if value is None else float(Decimal(value))


def parse_time(value: Any) -> datetime | None:
    """A platform timestamp (ISO 8601 or RFC 2822, as v3 and v2 write them) → aware datetime."""
    if not isinstance(value, str) or not value.strip():
        return None
    raw = value.strip()
    try:
        moment = datetime.fromisoformat(raw.replace("Z", "+00:00"))
    except ValueError:
        try:
            moment = parsedate_to_datetime(raw)
        except (TypeError, ValueError, IndexError):
            return None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def iso_utc(moment: datetime) -> str:
    """The canonical timestamp form: ISO 8601 in UTC with a Z, whole seconds."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def rfc2822(canonical_time: str | None) -> str | None:
    """A canonical timestamp → RFC 2822, the form v2 writes take."""
    moment = parse_time(canonical_time)
    return None if moment is None else format_datetime(moment.astimezone(UTC))


def canonical_time(value: Any, what: str) -> str | None:
    if value in (None, ""):
        return None
    moment = parse_time(value)
    if moment is None:
        raise RecordInvalid(f"{what} {value!r} is not a date")
    return iso_utc(moment)


def last_segment(path: Any) -> str:
    """The slug in a storefront URL path: "/shoes/runners/" → "runners", "/a.html" → "a"."""
    if not isinstance(path, str):
        return ""
    segment = path.strip("/").rsplit("/", 1)[-1]
    return segment.removesuffix(".html")


def ref(value: Any) -> str | None:
    """A platform id as a canonical reference; 0 and empty mean none."""
    if value in (None, "", 0, "0"):
        return None
    return str(value)


def ref_id(value: Any) -> int:
    """A canonical reference (already translated to this store's ids) → the platform's id,
    0 for none."""
    return int(value) if value not in (None, "") else 0


class Handler:
    """One entity's reads, writes and mapping. The connector dispatches to it by entity."""

    entity = ""
    max_write_batch = BATCH
    #: Whether the platform lists this entity's records changed in a time window.
    changes = False

    def __init__(self, api: Any) -> None:
        self.api = api

    def count(self) -> int:
        raise NotImplementedError

    def read_page(self, cursor: dict[str, Any] | None, page_size: int) -> Page:
        raise NotImplementedError

    def read_by_ids(self, ids: list[str]) -> list[dict[str, Any]]:
        raise NotImplementedError

    def find(self, key: str) -> dict[str, Any] | None:
        raise NotImplementedError

    def create(self, items: list[WriteItem]) -> list[WriteResult]:
        raise NotImplementedError

    def update(self, items: list[WriteItem]) -> list[WriteResult]:
        raise NotImplementedError

    def delete(self, ids: list[str]) -> list[WriteResult]:
        raise NotImplementedError

    def to_canonical(self, raw: dict[str, Any]) -> dict[str, Any]:
        raise NotImplementedError

    def from_canonical(self, canonical: dict[str, Any]) -> dict[str, Any]:
        raise NotImplementedError

    def write_notes(self, canonical: dict[str, Any]) -> list[str]:
        return []

    def read_changes(
        self,
        since: datetime | None,
        until: datetime,
        cursor: dict[str, Any] | None,
        page_size: int,
    ) -> Page:
        raise ConnectorError(
            f"BigCommerce keeps no modification time on {self.entity}: read them all and "
            "compare content hashes"
        )

    def list_ids(self) -> list[str]:
        raise NotImplementedError


def require_targets(items: list[WriteItem]) -> None:
    missing = [item.ref for item in items if not item.target_id]
    if missing:
        raise ConnectorError(f"update needs target ids (missing for {', '.join(missing)})")


def page_number(cursor: dict[str, Any] | None) -> int:
    return max(1, int((cursor or {}).get("page", 1)))
