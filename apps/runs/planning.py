"""Planning a run: count the source, cut the work into batches, estimate its points."""

from __future__ import annotations

import math
from typing import Any

from django.conf import settings
from django.db import transaction

from apps.runs import points
from apps.runs.choices import Action, BatchStatus, RunKind
from apps.runs.models import EntityBatch, RecordOutcome, Run
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


def stage_of(entity: str) -> int:
    for index, members in enumerate(STAGES):
        if entity in members:
            return index
    return len(STAGES)


_ORDER = [entity for stage in STAGES for entity in stage]


def ordered_entities(entities: list[str]) -> list[str]:
    return sorted(entities, key=lambda e: _ORDER.index(e) if e in _ORDER else len(_ORDER))


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


def count_source(entities: list[str], source: Connector) -> dict[str, int]:
    return {entity: source.count(entity) for entity in ordered_entities(entities)}


def make_plan(run: Run, source: Connector) -> dict[str, Any]:
    """Create the run's batches (idempotent: a re-delivered plan task adds none twice)."""
    page_size = settings.SOURCE_PAGE_SIZE
    order = ordered_entities(run.project.entities)
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
        Run.objects.filter(pk=run.pk).update(plan=plan, points_estimate=plan["points"])
    run.plan, run.points_estimate = plan, plan["points"]
    return plan
