"""How far the target is behind the source, per entity, for the project page and the API.

Per entity: the watermark (the `until` of the last sync run that covered it), its age, how many
source records changed since then — the first page of the connector's `read_changes` (its
total when the platform gives one, else the page's length, "100+" when there are more) or
"unknown (hash scan)" where the platform cannot list changes by time — and the webhook events
waiting for the next delta.

Asking the source costs one request per entity (more for WooCommerce products, which embed
their variations), so the answer is cached for CACHE_SECONDS, and the connector is built with a
short timeout and a single attempt: a slow or dead source shows "source unreachable: <reason>"
instead of holding the page. Nothing here raises.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import httpx
from django.core.cache import cache
from django.db.models import Count
from django.utils import timezone

from apps.projects.models import Project
from apps.runs.choices import SYNC_KINDS, RunStatus
from apps.runs.models import ChangeEvent, Run
from apps.runs.planning import ordered_entities
from apps.stores.connectors.base import ConnectorError, TransientError
from apps.stores.services import build_connector

logger = logging.getLogger(__name__)

CACHE_SECONDS = 60
# Records of the first page of changes: the count is exact up to this, then "N+".
PAGE_SIZE = 100
TIMEOUT_SECONDS = 5.0
# Sync runs looked at to find each entity's last sync (one bounded query): an entity dropped
# from scope longer ago than that shows as never synced.
WATERMARK_SCAN = 20


class Method:
    CHANGES = "changes"  # counted from the platform's list of changes
    HASH_SCAN = "hash_scan"  # the platform cannot list changes: a delta reads everything
    NOT_SYNCED = "not_synced"  # no sync run covered the entity yet
    UNREACHABLE = "unreachable"  # the source did not answer


@dataclass(frozen=True)
class EntityLag:
    entity: str
    watermark: datetime | None
    watermark_run_id: int | None
    method: str
    changed: int | None = None
    # True when the first page was full: at least `changed` records changed.
    more: bool = False
    note: str = ""
    pending_events: int = 0

    @property
    def changed_label(self) -> str:
        if self.method == Method.CHANGES and self.changed is not None:
            return f"{self.changed}+" if self.more else str(self.changed)
        if self.method == Method.HASH_SCAN:
            return "unknown (hash scan)"
        if self.method == Method.UNREACHABLE:
            return "unknown (source unreachable)"
        return "—"

    def age_seconds(self, now: datetime) -> float | None:
        if self.watermark is None:
            return None
        return max(0.0, (now - self.watermark).total_seconds())


@dataclass(frozen=True)
class ProjectLag:
    checked_at: datetime
    entities: list[EntityLag] = field(default_factory=list)
    # "source unreachable: <reason>" when the source could not be asked.
    error: str = ""

    @property
    def watermark(self) -> datetime | None:
        """The project's watermark: where the next delta starts reading."""
        marks = [e.watermark for e in self.entities if e.watermark is not None]
        return max(marks) if marks else None


def format_age(seconds: float | None) -> str:
    """ "45 s", "12 min", "3 h 05 min", "2 d 4 h"; an em dash when unknown."""
    if seconds is None:
        return "—"
    total = int(seconds)
    if total < 60:
        return f"{total} s"
    minutes, _ = divmod(total, 60)
    if minutes < 60:
        return f"{minutes} min"
    hours, minutes = divmod(minutes, 60)
    if hours < 48:
        return f"{hours} h {minutes:02d} min"
    days, hours = divmod(hours, 24)
    return f"{days} d {hours} h"


def _watermarks(project: Project) -> dict[str, Run]:
    """Entity → the last succeeded (or partially failed) sync run that covered it."""
    runs = (
        Run.objects.filter(
            project=project,
            kind__in=SYNC_KINDS,
            status__in=[RunStatus.SUCCEEDED, RunStatus.PARTIALLY_FAILED],
            until__isnull=False,
        )
        .order_by("-until")
        .only("id", "until", "plan")[:WATERMARK_SCAN]
    )
    marks: dict[str, Run] = {}
    for run in runs:
        # A run planned before plans named their entities covered the whole scope.
        covered = (run.plan or {}).get("order") or project.entities
        for entity in covered:
            marks.setdefault(entity, run)
    return marks


def _pending_events(project: Project) -> dict[str, int]:
    rows = (
        ChangeEvent.objects.filter(project=project, run__isnull=True)
        .values("entity")
        .annotate(n=Count("id"))
        .values_list("entity", "n")
    )
    return dict(rows)


def _unreachable(exc: BaseException) -> bool:
    """Whether an error means the source is down (stop asking it) rather than that it cannot
    list this entity's changes (ask about the next one)."""
    if isinstance(exc, ConnectorError):
        return isinstance(exc, TransientError) or exc.status is None or exc.status >= 500
    return True


def _reason(exc: BaseException) -> str:
    # Connector messages name the request and the platform's answer, never credentials;
    # anything else is reported by type only.
    if isinstance(exc, ConnectorError | httpx.HTTPError):
        return str(exc) or type(exc).__name__
    return type(exc).__name__


def compute(project: Project, *, now: datetime | None = None) -> ProjectLag:
    """The lag as of now, asking the source (not cached: see `project_lag`)."""
    now = now or timezone.now()
    marks = _watermarks(project)
    pending = _pending_events(project)
    entities = ordered_entities(list(project.entities))
    rows: list[EntityLag] = []
    error = ""
    source = None
    if any(entity in marks for entity in entities):
        try:
            source = build_connector(
                project.source_store,
                timeout=TIMEOUT_SECONDS,
                max_attempts=1,
                max_rate_limit_waits=0,
            )
        except Exception as exc:
            logger.info("Lag of project %s: no source connector", project.pk, exc_info=True)
            error = f"source unreachable: {_reason(exc)}"
    try:
        for entity in entities:
            run = marks.get(entity)
            base = {
                "entity": entity,
                "watermark": run.until if run else None,
                "watermark_run_id": run.pk if run else None,
                "pending_events": pending.get(entity, 0),
            }
            if run is None:
                rows.append(EntityLag(**base, method=Method.NOT_SYNCED))
            elif error or source is None:
                rows.append(EntityLag(**base, method=Method.UNREACHABLE))
            else:
                row, error = _entity_lag(source, base, run.until, now)
                rows.append(row)
    finally:
        if source is not None:
            source.close()
    return ProjectLag(checked_at=now, entities=rows, error=error)


def _entity_lag(
    source: Any, base: dict[str, Any], since: datetime, now: datetime
) -> tuple[EntityLag, str]:
    entity = base["entity"]
    try:
        if not source.supports_changes(entity):
            return EntityLag(**base, method=Method.HASH_SCAN), ""
        page = source.read_changes(entity, since, now, None, PAGE_SIZE)
    except Exception as exc:
        if _unreachable(exc):
            logger.info("Lag of %s: source unreachable", entity, exc_info=True)
            error = f"source unreachable: {_reason(exc)}"
            return EntityLag(**base, method=Method.UNREACHABLE), error
        # The platform cannot list this entity's changes after all: a delta compares hashes.
        return EntityLag(**base, method=Method.HASH_SCAN, note=_reason(exc)), ""
    if page.total is not None:
        return EntityLag(**base, method=Method.CHANGES, changed=int(page.total)), ""
    return (
        EntityLag(
            **base,
            method=Method.CHANGES,
            changed=len(page.records),
            more=page.next_cursor is not None,
        ),
        "",
    )


def cache_key(project: Project) -> str:
    # The creation time tells apart projects that reuse an id (test databases roll back).
    stamp = int(project.created_at.timestamp()) if project.created_at else 0
    return f"runs:lag:v1:{project.pk}:{stamp}"


def cached(project: Project) -> ProjectLag | None:
    """The cached answer, if any (never asks the source)."""
    try:
        return cache.get(cache_key(project))
    except Exception:
        logger.warning("Lag cache unavailable", exc_info=True)
        return None


def project_lag(project: Project, *, now: datetime | None = None) -> ProjectLag:
    """The lag, from the cache when it was computed in the last CACHE_SECONDS (an unreachable
    source is cached too, so a dead source is not asked on every page load)."""
    hit = cached(project)
    if hit is not None:
        return hit
    lag = compute(project, now=now)
    try:
        cache.set(cache_key(project), lag, CACHE_SECONDS)
    except Exception:
        logger.warning("Lag cache unavailable", exc_info=True)
    return lag
