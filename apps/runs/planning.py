"""Planning a run: count the source, cut the work into batches."""

from __future__ import annotations

import math
from typing import Any

from django.conf import settings
from django.db import transaction

from apps.runs.choices import Action, BatchStatus, RunKind
from apps.runs.models import EntityBatch, RecordOutcome, Run
from apps.stores.connectors.base import Connector

# Dependency order: an entity's references are migrated before it.
ENTITY_ORDER = ["categories", "brands", "products", "customers", "orders", "posts", "redirects"]


def ordered_entities(entities: list[str]) -> list[str]:
    known = [e for e in ENTITY_ORDER if e in entities]
    return known + [e for e in entities if e not in known]


def _full_batches(run: Run, source: Connector, entity: str, page_size: int) -> tuple[int, list]:
    total = source.count(entity)
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


def make_plan(run: Run, source: Connector) -> dict[str, Any]:
    """Create the run's batches (idempotent: a re-delivered plan task adds none twice)."""
    page_size = settings.SOURCE_PAGE_SIZE
    order = ordered_entities(run.project.entities)
    plan: dict[str, Any] = {"order": order, "page_size": page_size, "entities": {}}
    all_batches: list[EntityBatch] = []
    for entity in order:
        if run.kind == RunKind.RETRY_FAILED:
            total, batches = _retry_batches(run, entity, page_size)
        else:
            total, batches = _full_batches(run, source, entity, page_size)
        plan["entities"][entity] = {"total": total, "batches": len(batches)}
        all_batches.extend(batches)
    with transaction.atomic():
        EntityBatch.objects.bulk_create(all_batches, ignore_conflicts=True)
        Run.objects.filter(pk=run.pk).update(plan=plan)
    run.plan = plan
    return plan
