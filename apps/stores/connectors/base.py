"""The one interface every platform connector implements.

Plain Python (no Django): a connector is built from a base URL, credentials and an optional
httpx transport (tests mount the sandbox's WSGI app in-process; production uses the network).

Entities are named by the canonical vocabulary ("products", later "categories", "customers" …).
A connector reads raw platform records, turns them into canonical dicts and back, and writes
payloads in the platform's own batch sizes. Canonical records are described in
apps/stores/connectors/canonical.py.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from email.utils import parsedate_to_datetime
from typing import Any

# Where platforms keep a record's creation time: WooCommerce *_gmt (naive UTC), WordPress
# posts date_gmt, BigCommerce date_created (ISO 8601, or RFC 2822 in v2).
_CREATED_KEYS = ("date_created_gmt", "date_gmt", "date_created")
_MODIFIED_KEYS = ("date_modified_gmt", "modified_gmt", "date_modified")


#: How far this process's clock and a platform's may disagree (delta reads, adoption).
CLOCK_SKEW = timedelta(seconds=60)


def utc(moment: datetime) -> datetime:
    return moment.astimezone(UTC) if moment.tzinfo else moment.replace(tzinfo=UTC)


def lower_bound(since: datetime) -> datetime:
    """A `modified after` bound that keeps a record changed exactly at `since`, whatever the
    platform's inclusiveness: platforms filter whole seconds, so one second below, truncated
    (a record may be read twice, never missed)."""
    return utc(since).replace(microsecond=0) - timedelta(seconds=1)


def in_read(modified: datetime | None, until: datetime, started: datetime) -> bool:
    """Whether a record a change scan returned belongs to this read: changed up to `until`,
    or while the read ran (it may have been in the window when the read began). A record with
    no date is kept: dropping it could lose it."""
    if modified is None:
        return True
    return modified <= utc(until) or modified >= started - CLOCK_SKEW


def parse_timestamp(value: Any, *, naive_is_utc: bool = True) -> datetime | None:
    if not isinstance(value, str) or not value.strip():
        return None
    text = value.strip()
    try:
        moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        try:
            moment = parsedate_to_datetime(text)
        except (TypeError, ValueError):
            return None
    if moment.tzinfo is None:
        return moment.replace(tzinfo=UTC) if naive_is_utc else None
    return moment


class ConnectorError(Exception):
    """A request the platform refused or that failed for good (after retries)."""

    def __init__(self, message: str, *, status: int | None = None, retryable: bool = False):
        super().__init__(message)
        self.status = status
        self.retryable = retryable


class TransientError(ConnectorError):
    """A timeout, a dropped connection or a 5xx that outlasted the client's own retries."""

    def __init__(self, message: str, *, status: int | None = None):
        super().__init__(message, status=status, retryable=True)


class RecordInvalid(ValueError):
    """A raw record that cannot be turned into a canonical one (the message says why)."""


@dataclass
class Page:
    records: list[dict[str, Any]]
    total: int | None = None
    next_cursor: dict[str, Any] | None = None


@dataclass
class WriteResult:
    """The outcome of writing one record. `ref` is the caller's correlation key (source id)."""

    ref: str
    ok: bool
    target_id: str | None = None
    record: dict[str, Any] | None = None
    error: str = ""
    status: int | None = None
    retryable: bool = False
    extra: dict[str, Any] = field(default_factory=dict)


@dataclass
class WriteItem:
    ref: str
    payload: dict[str, Any]
    target_id: str | None = None  # set for updates
    # The target's record as the caller just read it (an update's pre-image): a connector that
    # must look at the current record before writing (matching variant ids) uses it instead of
    # reading it again.
    current: dict[str, Any] | None = None


class Connector(ABC):
    platform: str = ""
    #: Largest number of records one write call may carry, per entity.
    max_write_batch: dict[str, int] = {}

    @abstractmethod
    def count(self, entity: str) -> int: ...

    @abstractmethod
    def read_page(self, entity: str, cursor: dict[str, Any] | None, page_size: int) -> Page:
        """Read one page. `cursor` None means the first page; the Page says the next one."""

    @abstractmethod
    def read_by_ids(self, entity: str, ids: list[str]) -> list[dict[str, Any]]: ...

    @abstractmethod
    def find_by_natural_key(self, entity: str, key: str) -> dict[str, Any] | None:
        """The target record whose natural key (SKU for products) is `key`, or None."""

    @abstractmethod
    def create(self, entity: str, items: list[WriteItem]) -> list[WriteResult]: ...

    @abstractmethod
    def update(self, entity: str, items: list[WriteItem]) -> list[WriteResult]: ...

    @abstractmethod
    def delete(self, entity: str, ids: list[str]) -> list[WriteResult]: ...

    @abstractmethod
    def to_canonical(self, entity: str, raw: dict[str, Any]) -> dict[str, Any]:
        """Raw platform record → canonical dict; raises RecordInvalid with a clear reason."""

    @abstractmethod
    def from_canonical(self, entity: str, canonical: dict[str, Any]) -> dict[str, Any]:
        """Canonical dict → this platform's write payload."""

    def write_notes(self, entity: str, canonical: dict[str, Any]) -> list[str]:
        """What this platform, as a target, cannot hold of the record as it is and holds
        otherwise: each a sentence for the record's outcome, so a merchant learns of it from
        the run rather than from the storefront. Nothing by default."""
        return []

    def created_at(self, entity: str, raw: dict[str, Any]) -> datetime | None:
        """When the platform created this record, if it says (None otherwise)."""
        for key in _CREATED_KEYS:
            if raw.get(key):
                return parse_timestamp(raw[key])
        return None

    def modified_at(self, entity: str, raw: dict[str, Any]) -> datetime | None:
        """When the record was last changed on the platform, if it says (None otherwise)."""
        for key in _MODIFIED_KEYS:
            if raw.get(key):
                return parse_timestamp(raw[key])
        return None

    # --- delta reads ------------------------------------------------------------------------
    def supports_changes(self, entity: str) -> bool:
        """Whether the platform can list an entity's records changed in a time window. Without
        it a delta reads every record and keeps those whose content hash changed."""
        return False

    def read_changes(
        self,
        entity: str,
        since: datetime | None,
        until: datetime,
        cursor: dict[str, Any] | None,
        page_size: int,
    ) -> Page:
        """One page of the records changed in [since, until] (since None: from the start),
        in a stable order, with a cursor that never skips a record even when records change
        or leave the window while they are paged through (a record may come twice, never
        zero times). Page.next_cursor is None after the last page."""
        raise ConnectorError(f"{self.platform} cannot list changed {entity} by time")

    def list_ids(self, entity: str) -> list[str]:
        """Every record id of the entity (to find records deleted at the source)."""
        ids: list[str] = []
        cursor: dict[str, Any] | None = None
        while True:
            page = self.read_page(entity, cursor, 100)
            ids.extend(self.record_id(raw) for raw in page.records)
            if page.next_cursor is None or not page.records:
                return ids
            cursor = page.next_cursor

    @property
    def requests_sent(self) -> int:
        """HTTP requests this connector has sent (its HttpClient is `self.http`)."""
        client = getattr(self, "http", None)
        return client.requests_sent if client is not None else 0

    @staticmethod
    def record_id(raw: dict[str, Any]) -> str:
        return str(raw["id"])

    def close(self) -> None:  # pragma: no cover - overridden where a client is held
        return None
