"""Reconciliation: a `verify` run compares the source and the target, entity by entity.

Per entity the run reads every target record (keeping only id → checksum and natural key),
then every source page, and puts each source record in exactly one bucket:

- present: mapped (RecordMap, synced) and its target id is on the target — then `matched`
  when the source's canonical form as the engine would write it agrees with the target's own
  canonical form now (apps/reconciliation/compare.py says exactly what is compared), else
  `mismatched` with field-level diffs;
- failed: not present, and its latest outcome (any non-dry run) is `failed`;
- excluded: not present, and its latest outcome is a documented exclusion (`skipped` with
  "excluded: …", e.g. a duplicate natural key; the reason is shown);
- missing: anything else — mapped to a target id the target no longer has, or never migrated.

The equation source = target (present) + failed + excluded holds exactly when nothing is
missing. Target records no RecordMap row of the project points to are orphans. Then every
ImportantRecord of the project is read whole on both sides and diffed deeply (spot checks).

Re-delivery: a task delivered again to a run still `running` rebuilds the report of that run
from scratch (its rows are deleted first); a finished run is left alone.
"""

from __future__ import annotations

import csv
import logging
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.db import transaction
from django.db.models import Count, Q
from django.utils import timezone

from apps.core import audit
from apps.projects import cleansing, mapping
from apps.projects.models import Project
from apps.reconciliation.choices import ItemKind
from apps.reconciliation.compare import diff
from apps.reconciliation.models import (
    EntityReconciliation,
    ImportantRecord,
    ReconciliationItem,
    ReconciliationReport,
)
from apps.runs import states
from apps.runs.batches import worker_identity
from apps.runs.choices import Action, MapStatus, RunKind, RunStatus
from apps.runs.models import RecordMap, RecordOutcome, Run
from apps.runs.planning import ordered_entities
from apps.runs.processing import Item, normalise
from apps.runs.references import Resolver
from apps.stores.connectors.base import Connector, ConnectorError, RecordInvalid
from apps.stores.connectors.canonical import ENTITIES, NATURAL_KEY, content_hash
from apps.stores.services import build_connector

log = logging.getLogger(__name__)

PAGE_SIZE = 100
# Item rows are written in batches of this many (memory stays flat on big entities).
FLUSH_EVERY = 500
EXCLUDED_PREFIX = "excluded"


class StoreUnreadable(Exception):
    """A store could not be read: the verify run fails with this message."""


class LeaseLost(Exception):
    """Another worker took the report over (our lease expired): stop, write nothing more."""


# --- public read functions (the go-live gates call these) ---------------------------------
def latest_report(project: Project) -> ReconciliationReport | None:
    """The project's latest finished verify report (None when there is none)."""
    return (
        ReconciliationReport.objects.filter(
            project=project, finished_at__isnull=False, run__status=RunStatus.SUCCEEDED
        )
        .select_related("run")
        .order_by("-finished_at", "-id")
        .first()
    )


def item_counts(report: ReconciliationReport) -> dict[str, int]:
    """The report's item count per kind (every kind present, zero when it has none): one
    GROUP BY."""
    counts = dict.fromkeys(ItemKind.values, 0)
    for row in report.items.order_by().values("kind").annotate(n=Count("id")):
        counts[row["kind"]] = row["n"]
    return counts


def reports(project: Project):
    """The project's verify reports, newest first (a queryset)."""
    return ReconciliationReport.objects.filter(project=project).select_related("run")


# --- execution ------------------------------------------------------------------------------
def execute(run_id: int) -> float | None:
    """Execute a verify run (the Celery task and the inline executor call this).

    queued → planning (count each entity at the source: Run.plan) → running (build the report)
    → succeeded; failed with the reason when a store cannot be read. Safe to deliver again:
    returns the seconds to wait when another live worker holds the report's lease (the task
    looks again then), else rebuilds the report of a run still running from scratch."""
    run = (
        Run.objects.select_related("project__source_store", "project__target_store")
        .filter(pk=run_id, kind=RunKind.VERIFY)
        .first()
    )
    if run is None or not run.is_live:
        return None
    if run.status == RunStatus.QUEUED and not states.transition(run, RunStatus.PLANNING):
        return None
    if run.status not in (RunStatus.PLANNING, RunStatus.RUNNING):
        return None
    report, _ = ReconciliationReport.objects.get_or_create(
        run=run, defaults={"project": run.project}
    )
    owner = f"{worker_identity()}:{uuid.uuid4().hex[:8]}"
    if not _claim(report, owner):
        return _lease_wait(report)
    project = run.project
    source = build_connector(project.source_store)
    target = build_connector(project.target_store)
    try:
        if run.status == RunStatus.PLANNING:
            _plan(run, source)
            if not states.transition(run, RunStatus.RUNNING):
                return None
        build_report(run, source, target, report=report)
    except LeaseLost:
        log.warning("Verify run %s: lease lost; another worker builds the report.", run_id)
        return None
    except StoreUnreadable as exc:
        _fail(run, str(exc))
        return None
    except Exception as exc:
        # An unexpected error must not leave the run "running" for ever (the reaper leaves
        # runs of registered executors alone): fail it with the reason, and log the trace.
        log.exception("Verify run %s failed", run_id)
        _fail(run, f"Verify failed: {type(exc).__name__}: {exc}")
        return None
    finally:
        source.close()
        target.close()
    run.refresh_from_db()
    if run.status == RunStatus.RUNNING:
        states.transition(run, RunStatus.SUCCEEDED)
    return None


def execute_inline(run_id: int) -> None:
    """The in-process executor (apps.runs.engine.run_inline, tests, CLI rehearsals)."""
    execute(run_id)


def _fail(run: Run, error: str) -> None:
    run.refresh_from_db()
    if run.is_live:
        states.transition(run, RunStatus.FAILED, error=error)


def _lease_until() -> Any:
    return timezone.now() + timedelta(seconds=settings.BATCH_LEASE_SECONDS)


def _claim(report: ReconciliationReport, owner: str) -> bool:
    """Take the report's lease: free, expired, or already ours."""
    now = timezone.now()
    free = Q(lease_owner="") | Q(lease_expires_at__lt=now) | Q(lease_owner=owner)
    taken = ReconciliationReport.objects.filter(free, pk=report.pk).update(
        lease_owner=owner, lease_expires_at=_lease_until()
    )
    if taken:
        report.lease_owner = owner
    return bool(taken)


def _lease_wait(report: ReconciliationReport) -> float:
    expires = (
        ReconciliationReport.objects.filter(pk=report.pk)
        .values_list("lease_expires_at", flat=True)
        .first()
    )
    if expires is None:
        return 1.0
    return max(1.0, (expires - timezone.now()).total_seconds())


def heartbeat(report: ReconciliationReport) -> None:
    """Extend our lease; LeaseLost when another worker has taken the report."""
    if not ReconciliationReport.objects.filter(pk=report.pk, lease_owner=report.lease_owner).update(
        lease_expires_at=_lease_until()
    ):
        raise LeaseLost(f"report {report.pk}")


def _store_error(side: str, connector: Connector, entity: str, exc: Exception) -> StoreUnreadable:
    return StoreUnreadable(f"Cannot read {entity} from the {side} store: {exc}")


def _plan(run: Run, source: Connector) -> None:
    """Run.plan as the run page expects it: the order and a total per entity (no batches)."""
    order = ordered_entities([e for e in run.project.entities if e in ENTITIES])
    entities = {}
    for entity in order:
        try:
            total = source.count(entity)
        except ConnectorError as exc:
            raise _store_error("source", source, entity, exc) from exc
        entities[entity] = {"total": total, "batches": 0, "points": 0}
    plan = {"order": order, "stages": [order], "entities": entities, "points": 0}
    Run.objects.filter(pk=run.pk).update(plan=plan)
    run.plan = plan


def build_report(
    run: Run, source: Connector, target: Connector, *, report: ReconciliationReport
) -> ReconciliationReport:
    """(Re)build the report of `run` from scratch: entity rows, items, spot checks. The
    caller holds the report's lease; every page and every write extends it."""
    project = run.project
    with transaction.atomic():
        heartbeat(report)
        report.items.all().delete()
        report.entities.all().delete()
        report.started_at = timezone.now()
        report.finished_at = None
        report.save(update_fields=["started_at", "finished_at"])
    order = run.plan.get("order") or ordered_entities(
        [e for e in project.entities if e in ENTITIES]
    )
    context = _Context.of(project, report, source, target)
    for position, entity in enumerate(order):
        EntityVerifier(context, entity, position).run()
    spot_check(context)
    context.flush()
    with transaction.atomic():
        heartbeat(report)
        report.finished_at = timezone.now()
        ReconciliationReport.objects.filter(pk=report.pk).update(
            finished_at=report.finished_at, lease_owner="", lease_expires_at=None
        )
    return report


@dataclass
class _Context:
    project: Project
    report: ReconciliationReport
    source: Connector
    target: Connector
    field_mapping: dict[str, Any]
    rules: dict[str, bool]
    buffer: list[ReconciliationItem] = field(default_factory=list)

    @classmethod
    def of(
        cls, project: Project, report: ReconciliationReport, source: Connector, target: Connector
    ) -> _Context:
        return cls(
            project=project,
            report=report,
            source=source,
            target=target,
            field_mapping=mapping.effective_mapping(
                project.source_store.api_family,
                project.target_store.api_family,
                project.field_mappings,
            ),
            rules=cleansing.rules(project.cleansing),
        )

    def add(self, entity: str, kind: str, **fields: Any) -> None:
        fields["reason"] = (fields.get("reason") or "")[:4000]
        fields["natural_key"] = (fields.get("natural_key") or "")[:255]
        self.buffer.append(
            ReconciliationItem(report=self.report, entity=entity, kind=kind, **fields)
        )
        if len(self.buffer) >= FLUSH_EVERY:
            self.flush()

    def flush(self) -> None:
        if self.buffer:
            with transaction.atomic():
                heartbeat(self.report)
                ReconciliationItem.objects.bulk_create(self.buffer)
            self.buffer = []

    def read_pages(self, side: str, entity: str) -> Iterator[list[dict[str, Any]]]:
        connector = self.source if side == "source" else self.target
        cursor: dict[str, Any] | None = None
        while True:
            heartbeat(self.report)
            try:
                page = connector.read_page(entity, cursor, PAGE_SIZE)
            except ConnectorError as exc:
                raise _store_error(side, connector, entity, exc) from exc
            if page.records:
                yield page.records
            if page.next_cursor is None or not page.records:
                return
            cursor = page.next_cursor

    def read_ids(self, side: str, entity: str, ids: list[str]) -> list[dict[str, Any]]:
        connector = self.source if side == "source" else self.target
        if not ids:
            return []
        try:
            return connector.read_by_ids(entity, ids)
        except ConnectorError as exc:
            raise _store_error(side, connector, entity, exc) from exc

    def target_form(self, entity: str, raw: dict[str, Any] | None) -> dict[str, Any]:
        """The target's canonical form of one of its records ({} when it cannot be read),
        as the engine computes it (processing.BatchProcessor._target_form)."""
        if not raw:
            return {}
        try:
            return self.target.to_canonical(entity, raw)
        except (RecordInvalid, KeyError, TypeError, ValueError):
            return {}


def _resolve(resolver: Resolver, canonical: dict[str, Any]) -> dict[str, Any]:
    """The record in target terms (references → mapped target ids), as the engine writes it."""
    try:
        resolved, _ = resolver.resolve(canonical)
    except LookupError:
        # A category whose parent is not mapped (the only required reference): the engine
        # would not write it; compare the rest, the parent as unknown.
        resolved = {**canonical, "parent": None}
    return resolved


def _latest_outcomes(project: Project, entity: str, ids: list[str]) -> dict[str, RecordOutcome]:
    """The latest outcome of each source record over the project's runs (dry runs aside)."""
    latest: dict[str, RecordOutcome] = {}
    rows = (
        RecordOutcome.objects.filter(run__project=project, entity=entity, source_id__in=ids)
        .exclude(run__kind=RunKind.DRY_RUN)
        .only("source_id", "action", "reason", "target_id", "natural_key")
        .order_by("source_id", "-id")
    )
    for outcome in rows:
        latest.setdefault(outcome.source_id, outcome)
    return latest


def _why(item: Item, record_map: RecordMap, target_hash: str) -> str:
    reasons = []
    if item.digest != record_map.source_hash:
        reasons.append("changed at the source since the last sync")
    if record_map.target_hash and target_hash != record_map.target_hash:
        reasons.append("edited on the target since the last sync")
    return "; ".join(reasons) or "differs from what the engine would write"


class EntityVerifier:
    """One entity of one report. Memory: the target's ids with checksums and keys, the mapped
    target ids and the source ids seen — never whole records beyond one page."""

    def __init__(self, context: _Context, entity: str, position: int) -> None:
        self.c = context
        self.entity = entity
        self.row = EntityReconciliation(report=context.report, entity=entity, position=position)
        self.key_field = NATURAL_KEY.get(entity, "")
        # target id → (checksum of its canonical form, natural key)
        self.on_target: dict[str, tuple[str, str]] = {}
        self.seen: set[str] = set()

    def run(self) -> EntityReconciliation:
        for raws in self.c.read_pages("target", self.entity):
            for raw in raws:
                form = self.c.target_form(self.entity, raw)
                key = str(form.get(self.key_field) or "") if form else ""
                checksum = content_hash(form) if form else ""
                self.on_target[self.c.target.record_id(raw)] = (checksum, key)
        self.row.target_count = len(self.on_target)
        for raws in self.c.read_pages("source", self.entity):
            self._source_page(raws)
        self._orphans()
        row = self.row
        row.source_count = len(self.seen)
        row.equation_holds = row.source_count == (
            row.matched + row.mismatched + row.failed + row.excluded
        )
        with transaction.atomic():
            self.c.flush()
            heartbeat(self.c.report)
            row.save()
        return row

    def _source_page(self, raws: list[dict[str, Any]]) -> None:
        items = normalise(
            self.entity,
            self.c.source,
            raws,
            field_mapping=self.c.field_mapping,
            rules=self.c.rules,
        )
        items = [i for i in items if i.source_id not in self.seen]
        self.seen.update(i.source_id for i in items)
        maps = {
            m.source_id: m
            for m in RecordMap.objects.filter(
                project=self.c.project,
                entity=self.entity,
                source_id__in=[i.source_id for i in items],
            )
        }
        resolver = Resolver(
            self.c.project.pk, self.entity, [i.canonical for i in items if i.canonical]
        )
        to_diff: list[tuple[Item, RecordMap, dict[str, Any]]] = []
        elsewhere: list[tuple[Item, RecordMap | None]] = []
        for item in items:
            record_map = maps.get(item.source_id)
            linked = (
                record_map is not None
                and record_map.target_id
                and (record_map.status != MapStatus.PENDING)
            )
            if linked:
                self.row.mapped += 1
            if not linked or record_map.target_id not in self.on_target:
                elsewhere.append((item, record_map))
                continue
            checksum = self.on_target[record_map.target_id][0]
            if item.canonical is None:
                self.row.mismatched += 1
                self.c.add(
                    self.entity,
                    ItemKind.MISMATCH,
                    source_id=item.source_id,
                    target_id=record_map.target_id,
                    natural_key=record_map.natural_key,
                    target_hash=checksum,
                    reason=f"the source record cannot be read: {item.reason}",
                )
                continue
            resolved = _resolve(resolver, item.canonical)
            in_sync = item.digest == record_map.source_hash and checksum == record_map.target_hash
            if checksum and (content_hash(resolved) == checksum or in_sync):
                self.row.matched += 1
            else:
                to_diff.append((item, record_map, resolved))
        self._diff(to_diff)
        self._elsewhere(elsewhere)

    def _diff(self, pairs: list[tuple[Item, RecordMap, dict[str, Any]]]) -> None:
        """Read the target records whose checksum differs and diff them field by field."""
        if not pairs:
            return
        raws = self.c.read_ids("target", self.entity, [m.target_id for _, m, _ in pairs])
        now = {self.c.target.record_id(raw): raw for raw in raws}
        for item, record_map, resolved in pairs:
            form = self.c.target_form(self.entity, now.get(record_map.target_id))
            checksum = content_hash(form) if form else ""
            if not form:
                diffs: list[dict[str, Any]] = []
                reason = "the target record cannot be read"
            else:
                diffs = diff(
                    resolved,
                    form,
                    source=item.canonical,
                    base=record_map.canonical,
                    base_target=record_map.target_canonical,
                )
                if not diffs:
                    self.row.matched += 1
                    continue
                reason = _why(item, record_map, checksum)
            self.row.mismatched += 1
            self.c.add(
                self.entity,
                ItemKind.MISMATCH,
                source_id=item.source_id,
                target_id=record_map.target_id,
                natural_key=item.natural_key or record_map.natural_key,
                diffs=diffs,
                source_hash=content_hash(resolved),
                target_hash=checksum,
                reason=reason,
            )

    def _elsewhere(self, pairs: list[tuple[Item, RecordMap | None]]) -> None:
        """Source records not on the target: failed, excluded (documented) or missing."""
        if not pairs:
            return
        outcomes = _latest_outcomes(
            self.c.project, self.entity, [item.source_id for item, _ in pairs]
        )
        for item, record_map in pairs:
            outcome = outcomes.get(item.source_id)
            key = item.natural_key or (outcome.natural_key if outcome else "")
            if outcome is not None and outcome.action == Action.FAILED:
                self.row.failed += 1
                self.c.add(
                    self.entity,
                    ItemKind.FAILED,
                    source_id=item.source_id,
                    natural_key=key,
                    reason=outcome.reason or "failed",
                )
            elif (
                outcome is not None
                and outcome.action == Action.SKIPPED
                and outcome.reason.startswith(EXCLUDED_PREFIX)
            ):
                self.row.excluded += 1
                self.c.add(
                    self.entity,
                    ItemKind.EXCLUDED,
                    source_id=item.source_id,
                    target_id=outcome.target_id,
                    natural_key=key,
                    reason=outcome.reason,
                )
            else:
                self.row.missing += 1
                self.c.add(
                    self.entity,
                    ItemKind.MISSING,
                    source_id=item.source_id,
                    target_id=record_map.target_id if record_map else "",
                    natural_key=key,
                    reason=_missing_reason(record_map, outcome),
                )

    def _orphans(self) -> None:
        mapped = set(
            RecordMap.objects.filter(project=self.c.project, entity=self.entity)
            .exclude(target_id="")
            .values_list("target_id", flat=True)
        )
        for target_id, (checksum, key) in self.on_target.items():
            if target_id in mapped:
                continue
            self.row.orphans += 1
            self.c.add(
                self.entity,
                ItemKind.ORPHAN,
                target_id=target_id,
                natural_key=key,
                target_hash=checksum,
                reason="on the target, but no record of this project is mapped to it",
            )


def _missing_reason(record_map: RecordMap | None, outcome: RecordOutcome | None) -> str:
    if record_map is not None and record_map.target_id:
        return f"mapped to target record {record_map.target_id}, which the target no longer has"
    if record_map is not None and record_map.status == MapStatus.PENDING:
        return "a create was sent and never confirmed (pending)"
    if outcome is not None:
        return f"not on the target; its last outcome was {outcome.action}: {outcome.reason}"
    return "not migrated yet: no mapping, failure or exclusion recorded (run a delta)"


# --- spot checks ----------------------------------------------------------------------------
def spot_check(context: _Context) -> None:
    """Read each important record whole on both sides and diff it deeply (variants,
    addresses, order lines are part of the canonical form)."""
    for record in ImportantRecord.objects.filter(project=context.project).order_by("id"):
        passed, fields = _check_one(context, record)
        context.add(record.entity, ItemKind.SPOT_CHECK, passed=passed, **fields)


def _check_one(context: _Context, record: ImportantRecord) -> tuple[bool, dict[str, Any]]:
    entity, key = record.entity, record.natural_key
    fields: dict[str, Any] = {"natural_key": key}
    record_map = (
        RecordMap.objects.filter(project=context.project, entity=entity, natural_key=key)
        .exclude(target_id="")
        .first()
    )
    try:
        if record_map is not None:
            raws = context.read_ids("source", entity, [record_map.source_id])
            raw_source = raws[0] if raws else None
        else:
            raw_source = context.source.find_by_natural_key(entity, key)
        if raw_source is None:
            return False, {**fields, "reason": "not found on the source"}
        [item] = normalise(
            entity,
            context.source,
            [raw_source],
            field_mapping=context.field_mapping,
            rules=context.rules,
        )
        fields["source_id"] = item.source_id
        if item.canonical is None:
            return False, {**fields, "reason": f"the source record cannot be read: {item.reason}"}
        resolved = _resolve(Resolver(context.project.pk, entity, [item.canonical]), item.canonical)
        raw_target = None
        if record_map is not None:
            raws = context.read_ids("target", entity, [record_map.target_id])
            raw_target = raws[0] if raws else None
        if raw_target is None:
            raw_target = context.target.find_by_natural_key(entity, key)
    except (ConnectorError, StoreUnreadable) as exc:
        return False, {**fields, "reason": f"could not read the record: {exc}"}
    if raw_target is None:
        return False, {**fields, "reason": "not found on the target"}
    fields["target_id"] = context.target.record_id(raw_target)
    form = context.target_form(entity, raw_target)
    fields["source_hash"] = content_hash(resolved)
    fields["target_hash"] = content_hash(form) if form else ""
    same_link = record_map is not None and record_map.target_id == fields["target_id"]
    if not form:
        return False, {**fields, "reason": "the target record cannot be read"}
    diffs = diff(
        resolved,
        form,
        source=item.canonical,
        base=record_map.canonical if same_link else None,
        base_target=record_map.target_canonical if same_link else None,
    )
    if diffs:
        names = ", ".join(d["field"] for d in diffs[:5])
        return False, {**fields, "diffs": diffs, "reason": f"differs: {names}"}
    return True, {**fields, "reason": "both sides agree"}


# --- the important-records list -------------------------------------------------------------
def add_important_record(
    project: Project,
    *,
    entity: str,
    natural_key: str,
    note: str = "",
    user: Any = None,
    request: Any = None,
) -> ImportantRecord:
    from django.core.exceptions import ValidationError

    if entity not in ENTITIES:
        raise ValidationError({"entity": f"Unknown entity {entity!r}; use one of {ENTITIES}."})
    natural_key = (natural_key or "").strip()
    if not natural_key:
        raise ValidationError({"natural_key": "Name the record by its natural key."})
    with transaction.atomic():
        record, created = ImportantRecord.objects.get_or_create(
            project=project,
            entity=entity,
            natural_key=natural_key[:255],
            defaults={"note": note[:255], "created_by": user},
        )
        if not created:
            raise ValidationError({"natural_key": f"{entity} {natural_key!r} is already listed."})
        audit.record(
            action="reconciliation.important_added",
            obj=record,
            user=user,
            request=request,
            project_id=project.pk,
            payload={"entity": entity, "natural_key": record.natural_key},
        )
    return record


def update_important_record(
    record: ImportantRecord, *, note: str, user: Any = None, request: Any = None
) -> ImportantRecord:
    with transaction.atomic():
        record.note = (note or "")[:255]
        record.save(update_fields=["note"])
        audit.record(
            action="reconciliation.important_changed",
            obj=record,
            user=user,
            request=request,
            project_id=record.project_id,
            payload={"note": record.note},
        )
    return record


def remove_important_record(record: ImportantRecord, *, user: Any = None, request: Any = None):
    with transaction.atomic():
        audit.record(
            action="reconciliation.important_removed",
            obj=record,
            user=user,
            request=request,
            project_id=record.project_id,
            payload={"entity": record.entity, "natural_key": record.natural_key},
        )
        record.delete()


# --- CSV ------------------------------------------------------------------------------------
CSV_HEADER = ["kind", "entity", "source_id", "target_id", "natural_key", "passed", "field"]
CSV_HEADER += ["source_value", "target_value", "reason"]


def _cell(value: Any) -> str:
    text = "" if value is None else str(value)
    if text[:1] not in ("=", "+", "-", "@", "\t", "\r"):
        return text
    try:
        float(text)
        return text  # a negative number is data, not a formula
    except ValueError:
        # A value a spreadsheet would run as a formula is quoted (CSV injection).
        return "'" + text


def csv_rows(report: ReconciliationReport) -> Iterator[list[str]]:
    """Every item of the report, one row per field diff (one row when it has none)."""
    yield CSV_HEADER
    for item in report.items.order_by("id").iterator(chunk_size=1000):
        passed = "" if item.passed is None else ("yes" if item.passed else "no")
        head = [item.kind, item.entity, item.source_id, item.target_id, item.natural_key, passed]
        for d in item.diffs or [{}]:
            yield [
                _cell(v)
                for v in [
                    *head,
                    d.get("field", ""),
                    d.get("source", ""),
                    d.get("target", ""),
                    item.reason,
                ]
            ]


class _Echo:
    def write(self, value: str) -> str:
        return value


def csv_lines(report: ReconciliationReport) -> Iterator[str]:
    writer = csv.writer(_Echo())
    return (writer.writerow(row) for row in csv_rows(report))
