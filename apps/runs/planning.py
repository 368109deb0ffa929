"""Planning a run: count the source, cut the work into batches, estimate its points."""

from __future__ import annotations

import math
import operator
from datetime import datetime, timedelta
from functools import reduce
from typing import Any

from django.conf import settings
from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from apps.runs import points
from apps.runs.choices import SYNC_KINDS, Action, BatchStatus, JournalOp, RunKind, RunStatus
from apps.runs.models import ChangeEvent, EntityBatch, JournalEntry, RecordOutcome, Run
from apps.stores.connectors.base import Connector

# Dependency order, in stages: a stage starts when the one before it has finished, so every
# reference a record makes is already on the target. Entities within a stage run in parallel.
STAGES: list[list[str]] = [
    ["categories", "brands", "posts"],
    ["products", "customers"],
    ["orders"],
]
# Entities the engine creates as one tree (parents before children) in a single batch.
TREE_ENTITIES = {"categories"}
# A rollback (apps/runs/rollback.py) needs both dependency orders: what the run created is
# removed top-down (an order before the product it references), while pre-images are written
# back and deleted records re-created bottom-up (a re-created product needs its category).
# So each entity has two phases — "remove" (first journal op: created) and "restore" (updated
# or deleted) — and a stage member is "entity@phase". Created categories, brands and posts go
# last, once no restored product points at them any more.
ROLLBACK_STAGES: list[list[str]] = [
    ["orders@remove"],
    ["products@remove", "customers@remove"],
    ["categories@restore", "brands@restore", "posts@restore"],
    ["products@restore", "customers@restore"],
    ["orders@restore"],
    ["categories@remove", "brands@remove", "posts@remove"],
]


def stage_of(entity: str) -> int:
    for index, members in enumerate(STAGES):
        if entity in members:
            return index
    return len(STAGES)


_ORDER = [entity for stage in STAGES for entity in stage]


def ordered_entities(entities: list[str]) -> list[str]:
    return sorted(entities, key=lambda e: _ORDER.index(e) if e in _ORDER else len(_ORDER))


def stage_filter(members: list[str]) -> Q:
    """The batches of one plan stage: "entity" or "entity@phase" (a rollback's phase)."""
    parts = []
    for member in members:
        entity, _, phase = member.partition("@")
        parts.append(Q(entity=entity, cursor__phase=phase) if phase else Q(entity=entity))
    return reduce(operator.or_, parts, Q(pk__in=[]))


def _full_batches(run: Run, source: Connector, entity: str, page_size: int) -> tuple[int, list]:
    total = source.count(entity)
    if entity in TREE_ENTITIES:
        pages = 1 if total else 0
    else:
        pages = math.ceil(total / page_size) if total else 0
    return total, [
        EntityBatch(run=run, entity=entity, seq=n, cursor={"page": n + 1, "per_page": page_size})
        for n in range(pages)
    ]


def _retry_batches(run: Run, entity: str, page_size: int) -> tuple[int, list]:
    """The parent run's failed records, by id, plus any page it could not read at all."""
    parent = run.parent
    ids = list(
        RecordOutcome.objects.filter(run=parent, entity=entity, action=Action.FAILED)
        .order_by("id")
        .values_list("source_id", flat=True)
    )
    batches = [
        EntityBatch(run=run, entity=entity, seq=n, cursor={"ids": ids[i : i + page_size]})
        for n, i in enumerate(range(0, len(ids), page_size))
    ]
    total = len(ids)
    failed_pages = parent.batches.filter(entity=entity, status=BatchStatus.FAILED).order_by("seq")
    for batch in failed_pages:
        if "page" in batch.cursor:
            batches.append(
                EntityBatch(run=run, entity=entity, seq=len(batches), cursor=batch.cursor)
            )
            total += int(batch.cursor.get("per_page", page_size))
    return total, batches


def watermark(project: Any) -> Run | None:
    """The last run that synced the project (full or delta, ended with its window recorded):
    the next delta reads from its `until`."""
    # A run that was rolled back no longer counts: its RecordMap rows were put back, so the
    # next delta must read its window again to re-apply the source's changes (reading a window
    # twice is harmless: unchanged records are deduplicated by content hash).
    return (
        project.runs.filter(
            kind__in=SYNC_KINDS,
            status__in=[RunStatus.SUCCEEDED, RunStatus.PARTIALLY_FAILED],
            until__isnull=False,
        )
        .exclude(children__kind=RunKind.ROLLBACK)
        .order_by("-until")
        .first()
    )


def rehearsed_kind(run: Run) -> str:
    """The kind of run this one executes: a dry run plans like the run it rehearses."""
    return run.options.get("of", RunKind.FULL) if run.kind == RunKind.DRY_RUN else run.kind


def _window(run: Run, until: datetime) -> tuple[datetime, datetime]:
    """[since - overlap, until]: since is the last sync's until."""
    baseline = watermark(run.project)
    if baseline is None:
        raise ValueError("A delta needs a baseline: run a full migration of the project first.")
    overlap = timedelta(seconds=run.project.delta_overlap_seconds)
    return baseline.until - overlap, until


def _event_ids(run: Run, entity: str) -> tuple[list[str], list[str]]:
    """Source ids pushed by webhooks since the last delta: (changed, deleted). Events of runs
    that did not succeed, or were rolled back, are taken again."""
    events = ChangeEvent.objects.filter(project=run.project, entity=entity).filter(
        Q(run__isnull=True)
        | Q(run__status__in=[RunStatus.FAILED, RunStatus.CANCELLED])
        | Q(run__children__kind=RunKind.ROLLBACK)
    )
    changed, deleted, taken = set(), set(), []
    for pk, source_id, action in events.values_list("pk", "source_id", "action"):
        (deleted if action == "deleted" else changed).add(source_id)
        taken.append(pk)
    if run.kind != RunKind.DRY_RUN:  # a rehearsal leaves the events to the real delta
        # Only the events read: one arriving meanwhile waits for the next delta.
        ChangeEvent.objects.filter(pk__in=taken).update(run=run)
    return sorted(changed - deleted), sorted(deleted)


def _delta_batches(
    run: Run, source: Connector, entity: str, page_size: int, since: datetime, until: datetime
) -> tuple[int, list]:
    changed, deleted = _event_ids(run, entity)
    if source.supports_changes(entity):
        batches = [
            EntityBatch(
                run=run,
                entity=entity,
                seq=0,
                cursor={"mode": "changes", "since": since.isoformat(), "until": until.isoformat()},
            )
        ]
        total = 0  # unknown until read: the batch pages through the window itself
    else:
        # No modified filter (WooCommerce customers): read everything, write what changed.
        total, batches = _full_batches(run, source, entity, page_size)
    for start in range(0, len(changed), page_size):
        batches.append(
            EntityBatch(
                run=run,
                entity=entity,
                seq=len(batches),
                cursor={"ids": changed[start : start + page_size]},
            )
        )
    total += len(changed)
    if run.options.get("deletes"):
        batches.append(
            EntityBatch(run=run, entity=entity, seq=len(batches), cursor={"mode": "deletes"})
        )
    elif deleted:
        batches.append(
            EntityBatch(
                run=run, entity=entity, seq=len(batches), cursor={"mode": "deletes", "ids": deleted}
            )
        )
    return total, batches


def count_source(entities: list[str], source: Connector) -> dict[str, int]:
    return {entity: source.count(entity) for entity in ordered_entities(entities)}


def make_plan(run: Run, source: Connector) -> dict[str, Any]:
    """Create the run's batches (idempotent: a re-delivered plan task adds none twice)."""
    page_size = settings.SOURCE_PAGE_SIZE
    if run.kind == RunKind.ROLLBACK:
        return _make_rollback_plan(run, page_size)
    order = ordered_entities(run.project.entities)
    kind = rehearsed_kind(run)
    until = run.until or timezone.now()  # taken before reading; kept if planning is re-run
    since = None
    if kind == RunKind.DELTA:
        since, until = _window(run, until)
    plan: dict[str, Any] = {
        "order": order,
        "stages": [[e for e in stage if e in order] for stage in STAGES],
        "page_size": page_size,
        "entities": {},
    }
    all_batches: list[EntityBatch] = []
    table = points.weights(run.project)
    for entity in order:
        if run.kind == RunKind.RETRY_FAILED:
            total, batches = _retry_batches(run, entity, page_size)
        elif kind == RunKind.DELTA:
            total, batches = _delta_batches(run, source, entity, page_size, since, until)
        else:
            total, batches = _full_batches(run, source, entity, page_size)
        plan["entities"][entity] = {
            "total": total,
            "batches": len(batches),
            "points": total * table.get(entity, 1),
        }
        all_batches.extend(batches)
    plan["points"] = sum(e["points"] for e in plan["entities"].values())
    with transaction.atomic():
        EntityBatch.objects.bulk_create(all_batches, ignore_conflicts=True)
        Run.objects.filter(pk=run.pk).update(
            plan=plan, points_estimate=plan["points"], since=since, until=until
        )
    run.plan, run.points_estimate, run.since, run.until = plan, plan["points"], since, until
    return plan


def _make_rollback_plan(run: Run, page_size: int) -> dict[str, Any]:
    """Batches of the parent run's journal entry ids, per entity and phase. A record journalled
    several times is undone once, from its first entry (the state before the run touched it);
    the processor reads the later entries to know where the record is now."""
    first: dict[tuple[str, str], tuple[int, str]] = {}
    entries = JournalEntry.objects.filter(run_id=run.parent_id).order_by("id")
    for pk, entity, source_id, op in entries.values_list("pk", "entity", "source_id", "op"):
        first.setdefault((entity, source_id), (pk, op))
    groups: dict[tuple[str, str], list[int]] = {}
    for (entity, _), (pk, op) in first.items():
        phase = "remove" if op == JournalOp.CREATED else "restore"
        groups.setdefault((entity, phase), []).append(pk)
    order = ordered_entities(sorted({entity for entity, _ in groups}))
    table = points.weights(run.project)
    plan: dict[str, Any] = {"order": order, "page_size": page_size, "entities": {}}
    all_batches: list[EntityBatch] = []
    for entity in order:
        seq, total = 0, 0
        for phase in ("remove", "restore"):
            ids = groups.get((entity, phase), [])
            total += len(ids)
            # A tree is undone in one batch: the processor orders it by depth.
            size = (len(ids) or 1) if entity in TREE_ENTITIES else page_size
            for start in range(0, len(ids), size):
                cursor = {"mode": "rollback", "phase": phase, "entries": ids[start : start + size]}
                all_batches.append(EntityBatch(run=run, entity=entity, seq=seq, cursor=cursor))
                seq += 1
        plan["entities"][entity] = {
            "total": total,
            "batches": seq,
            "points": total * table.get(entity, 1),
        }
    present = {f"{entity}@{phase}" for entity, phase in groups}
    plan["stages"] = [
        members for stage in ROLLBACK_STAGES if (members := [m for m in stage if m in present])
    ]
    plan["points"] = sum(e["points"] for e in plan["entities"].values())
    with transaction.atomic():
        EntityBatch.objects.bulk_create(all_batches, ignore_conflicts=True)
        Run.objects.filter(pk=run.pk).update(plan=plan, points_estimate=plan["points"])
    run.plan, run.points_estimate = plan, plan["points"]
    return plan
