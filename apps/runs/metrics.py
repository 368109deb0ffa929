"""Read-side figures for the run page and the API: throughput over time, an ETA, error groups,
stages, and whether a run's failures can be retried.

A run may have 10,000 batches and 1,000,000 outcomes, and the progress partial is polled every
two seconds, so every function here is a fixed number of aggregate queries: throughput and ETA
read batch rows only (never outcomes); error groups aggregate failed outcomes in the database,
over at most ERROR_SCAN of the newest ones.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.db import NotSupportedError
from django.db.models import Count, DateTimeField, FloatField, Func, Min, QuerySet, Sum, Value
from django.db.models.functions import Floor, Round
from django.utils import timezone

from apps.runs.choices import Action, RunKind, RunStatus
from apps.runs.models import EntityBatch, RecordOutcome, Run
from apps.runs.services import EntityProgress, entity_progress
from apps.stores import ratelimit

logger = logging.getLogger(__name__)

# --- throughput ------------------------------------------------------------------------------


@dataclass(frozen=True)
class ThroughputBucket:
    start: datetime
    end: datetime
    records: int


@dataclass(frozen=True)
class Throughput:
    """Records read per time bucket, by the finish time of the batch that read them."""

    start: datetime
    end: datetime
    bucket_seconds: int
    buckets: list[ThroughputBucket]

    @property
    def total(self) -> int:
        return sum(b.records for b in self.buckets)

    @property
    def peak(self) -> int:
        return max((b.records for b in self.buckets), default=0)


class EpochSeconds(Func):
    """A datetime as seconds since 1970 (float), in the database."""

    arity = 1
    output_field = FloatField()

    def as_sql(self, compiler: Any, connection: Any, **extra: Any) -> tuple[str, list]:
        raise NotSupportedError("Throughput needs SQLite or PostgreSQL.")

    def as_sqlite(self, compiler: Any, connection: Any, **extra: Any) -> tuple[str, list]:
        sql, params = compiler.compile(self.source_expressions[0])
        return f"((julianday({sql}) - 2440587.5) * 86400.0)", list(params)

    def as_postgresql(self, compiler: Any, connection: Any, **extra: Any) -> tuple[str, list]:
        sql, params = compiler.compile(self.source_expressions[0])
        return f"EXTRACT(EPOCH FROM {sql})::float8", list(params)


def throughput(run: Run, buckets: int = 30, *, now: datetime | None = None) -> Throughput | None:
    """The run's records per bucket from its batches' `finished_at` and `read` counters.

    One GROUP BY query on the bucket number, whatever the number of batches (it is polled
    every two seconds: building 30 filtered SUMs cost more Python than the query itself). The
    span is the run's start to its end (or now while it is live), cut into at most `buckets`
    buckets of whole seconds. None before the run has started."""
    buckets = max(1, min(int(buckets), 120))
    start = run.started_at
    if start is None:
        # A run planned by an older engine may lack started_at; its first batch stands in.
        start = EntityBatch.objects.filter(run=run).aggregate(s=Min("started_at"))["s"]
        if start is None:
            return None
    end = run.finished_at or (now or timezone.now())
    if not run.is_live and run.finished_at is None:
        end = start
    span = max(1.0, (end - start).total_seconds())
    width = max(1, math.ceil(span / buckets))
    count = max(1, math.ceil(span / width))
    edges = [start + timedelta(seconds=width * i) for i in range(count + 1)]
    rows = (
        EntityBatch.objects.filter(run=run, finished_at__isnull=False)
        .annotate(
            # The start goes through the same conversion as finished_at: SQLite's julianday()
            # drops the microseconds past the millisecond and adds some float error, and a
            # batch that finished on an edge must not fall into the bucket before it.
            bucket=Floor(
                Round(
                    EpochSeconds("finished_at")
                    - EpochSeconds(Value(start, output_field=DateTimeField())),
                    3,
                )
                / float(width)
            ),
        )
        .values("bucket")
        .annotate(records=Sum("read"))
        .order_by()
        .values_list("bucket", "records")
    )
    records = [0] * count
    for bucket, read in rows:
        # The first and last buckets are open-ended so every finished batch is counted once,
        # even one whose clock ran a little before the run's start or after its end.
        records[min(count - 1, max(0, int(bucket)))] += read or 0
    return Throughput(
        start=start,
        end=edges[-1],
        bucket_seconds=width,
        buckets=[
            ThroughputBucket(start=edges[i], end=edges[i + 1], records=records[i])
            for i in range(count)
        ],
    )


# --- ETA -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Quota:
    """A store's request quota per window, as the shared rate limiter knows it."""

    requests: int
    window_ms: float

    @property
    def per_second(self) -> float:
        return self.requests * 1000 / self.window_ms if self.window_ms > 0 else 0.0


class EtaBasis:
    QUOTA = "quota"  # the target's quota from the shared limiter
    OBSERVED_REQUESTS = "observed_requests"  # the run's own request rate to the target so far
    OBSERVED_RECORDS = "observed_records"  # no target requests yet: the record rate so far


@dataclass(frozen=True)
class Eta:
    seconds: int
    basis: str
    remaining_records: int
    requests_per_record: float
    rate: float  # requests per second (records per second for OBSERVED_RECORDS)
    quota: Quota | None = None

    @property
    def finishes_at(self) -> datetime:
        return timezone.now() + timedelta(seconds=self.seconds)

    @property
    def description(self) -> str:
        if self.basis == EtaBasis.OBSERVED_RECORDS:
            return (
                f"{self.remaining_records:,} records left at the {self.rate:.1f} records/s "
                "seen so far"
            )
        per = f"{self.requests_per_record:.2f} target requests per record"
        if self.basis == EtaBasis.QUOTA and self.quota is not None:
            window = self.quota.window_ms / 1000
            limit = f"the target's quota of {self.quota.requests:,} requests per {window:g} s"
        else:
            limit = f"the {self.rate:.1f} requests/s seen so far"
        return f"{self.remaining_records:,} records left, {per}, at {limit}"


def target_quota(store: Any) -> Quota | None:
    """The target's quota per window if the shared limiter exposes what it learned.

    The limiter learns the quota from the target's X-Rate-Limit-* headers; it offers it through
    an optional `known_quota()` → (requests, window_ms) | None. Without that (or on any error:
    an ETA hint must never break a page) the caller falls back to the observed rate."""
    try:
        limiter = ratelimit.limiter_for(store)
        known = getattr(limiter, "known_quota", None)
        value = known() if callable(known) else None
        if value is None:
            return None
        requests, window_ms = (
            (value.requests, value.window_ms) if isinstance(value, Quota) else tuple(value)
        )
        requests, window_ms = int(requests), float(window_ms)
    except Exception:
        logger.debug("No quota for store %s", getattr(store, "pk", None), exc_info=True)
        return None
    if requests <= 0 or window_ms <= 0:
        return None
    return Quota(requests=requests, window_ms=window_ms)


def _planned_total(run: Run) -> int:
    return sum(int(e.get("total") or 0) for e in (run.plan.get("entities") or {}).values())


def eta(
    run: Run, *, quota: Quota | None = None, progress: Sequence[EntityProgress] | None = None
) -> Eta | None:
    """Seconds until a live run is done, and the basis of that figure; None when unknown
    (not live, not planned yet, no finished batch yet) or nothing is left.

    remaining records (plan totals - records read) * target requests per record (Σ requests /
    Σ read over finished batches) / the target's request rate: its quota per window when the
    shared limiter knows it (or `quota` says), else the rate this run reached so far. From the
    per-entity progress the caller already read (else one grouped query over the batches)."""
    if not run.is_live or run.started_at is None:
        return None
    total = _planned_total(run)
    if total <= 0:
        return None
    if progress is None:
        progress = entity_progress(run)
    last = max((p.last_finished for p in progress if p.last_finished is not None), default=None)
    remaining = max(0, total - sum(p.processed for p in progress))
    done_read = sum(p.done_read for p in progress)
    done_requests = sum(p.done_requests for p in progress)
    if remaining == 0 or done_read == 0 or last is None:
        return None
    elapsed = max(1.0, (last - run.started_at).total_seconds())
    per_record = done_requests / done_read
    if per_record == 0:
        # Everything so far was unchanged (no target writes): the source is the pace.
        rate = done_read / elapsed
        return Eta(
            seconds=math.ceil(remaining / rate),
            basis=EtaBasis.OBSERVED_RECORDS,
            remaining_records=remaining,
            requests_per_record=0.0,
            rate=rate,
        )
    known = quota or target_quota(run.project.target_store)
    if known is not None and known.per_second > 0:
        basis, rate = EtaBasis.QUOTA, known.per_second
    else:
        known, basis, rate = None, EtaBasis.OBSERVED_REQUESTS, done_requests / elapsed
    return Eta(
        seconds=math.ceil(remaining * per_record / rate),
        basis=basis,
        remaining_records=remaining,
        requests_per_record=per_record,
        rate=rate,
        quota=known,
    )


@dataclass(frozen=True)
class RunFigures:
    """A run's progress per entity, its ETA and its throughput: what the run page's progress
    block and the API's run detail show."""

    progress: list[EntityProgress]
    eta: Eta | None
    throughput: Throughput | None


def figures(run: Run) -> RunFigures:
    """The run's figures, the ETA built on the same progress rows (one progress query)."""
    progress = entity_progress(run)
    return RunFigures(progress, eta(run, progress=progress), throughput(run))


# --- error groups ----------------------------------------------------------------------------

# The newest failures error_groups() aggregates; beyond that the counts are of a sample.
ERROR_SCAN = 100_000
ERROR_GROUPS = 20


@dataclass(frozen=True)
class ErrorGroup:
    entity: str
    key: str
    count: int


@dataclass(frozen=True)
class ErrorGroups:
    groups: list[ErrorGroup]
    # True when the run has more than ERROR_SCAN failures: counts are of the newest ones.
    sampled: bool

    def choices(self, entity: str = "") -> list[tuple[str, int, list[str]]]:
        """(key, count, entities) for a filter dropdown: one option per key, the counts of
        the chosen entity only, or of every entity added up."""
        merged: dict[str, tuple[int, list[str]]] = {}
        for group in self.groups:
            if entity and group.entity != entity:
                continue
            count, entities = merged.get(group.key, (0, []))
            merged[group.key] = (count + group.count, [*entities, group.entity])
        return [(key, count, entities) for key, (count, entities) in merged.items()]


def failures(run: Run, *, entity: str = "", error: str = "") -> QuerySet[RecordOutcome]:
    """The run's failed records, newest first, filtered by entity and/or error group key."""
    queryset = RecordOutcome.objects.filter(run=run, action=Action.FAILED).order_by("-id")
    if entity:
        queryset = queryset.filter(entity=entity)
    if error:
        queryset = queryset.filter(reason_key=error)
    return queryset


def error_groups(run: Run, *, entity: str = "", limit: int = ERROR_GROUPS) -> ErrorGroups:
    """The largest groups of failed outcomes by entity and reason key (apps.runs.reasons,
    stored with each failure).

    Two queries: the id of the ERROR_SCAN-th newest failure (an index walk), then one GROUP BY
    in the database over the failures from that id on, so the cost has a ceiling however many
    records failed."""
    queryset = failures(run, entity=entity)
    floor = queryset.values_list("id", flat=True)[ERROR_SCAN - 1 : ERROR_SCAN].first()
    if floor is not None:
        queryset = queryset.filter(id__gte=floor)
    rows = (
        queryset.order_by()
        .values("entity", "reason_key")
        .annotate(n=Count("id"))
        .order_by("-n", "entity", "reason_key")[: max(1, limit)]
    )
    return ErrorGroups(
        groups=[ErrorGroup(r["entity"], r["reason_key"], r["n"]) for r in rows],
        sampled=floor is not None,
    )


# --- stages, points, retry -------------------------------------------------------------------


class StageState:
    DONE = "done"
    RUNNING = "running"
    WAITING = "waiting"


@dataclass(frozen=True)
class Stage:
    number: int  # 1-based, among the stages that have entities in scope
    entities: list[str]
    state: str


def stages(run: Run, progress: Sequence[EntityProgress]) -> list[Stage]:
    """The plan's stages with their state, from the per-entity progress already read: the
    first stage with an open batch is the one running (as the engine decides). No query."""
    planned = [list(s) for s in (run.plan.get("stages") or []) if s]
    if not planned and run.plan.get("order"):
        planned = [list(run.plan["order"])]
    by_entity = {p.entity: p for p in progress}

    def is_open(member: str) -> bool:
        # A rollback's members are "entity@phase"; its progress is counted per entity.
        p = by_entity.get(member.partition("@")[0])
        return p is not None and p.batches_done < p.batches_total

    running_found = False
    result = []
    for number, members in enumerate(planned, start=1):
        if running_found:
            state = StageState.WAITING
        elif any(is_open(e) for e in members):
            state = StageState.RUNNING if run.is_live else StageState.WAITING
            running_found = True
        elif run.status in (RunStatus.QUEUED, RunStatus.PLANNING):
            state = StageState.WAITING
        else:
            state = StageState.DONE
        labels = [m.replace("@", " (") + ")" if "@" in m else m for m in members]
        result.append(Stage(number=number, entities=labels, state=state))
    return result


def entity_points(run: Run) -> dict[str, int]:
    """Entity Points per entity from the run's plan (estimated at planning)."""
    return {
        entity: int(info.get("points") or 0)
        for entity, info in (run.plan.get("entities") or {}).items()
    }


def retry_refusal(run: Run) -> str:
    """Why a retry_failed run of `run` cannot start, or "" when it can (a live run of the
    project is refused by start_run itself, atomically)."""
    if run.kind == RunKind.ROLLBACK:
        return (
            f"Run #{run.pk} is a rollback: start it again from the project's cutover plan "
            "(its records are put back from the journal, not read from the source)."
        )
    if run.status != RunStatus.PARTIALLY_FAILED:
        return (
            f"Run #{run.pk} is {run.get_status_display().lower()}; only a partially failed "
            "run's failed records can be retried."
        )
    return ""
