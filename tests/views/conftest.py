"""Fixtures for the dashboard view tests: runs in a chosen state, with batches and failures."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from apps.runs.choices import Action, BatchStatus, RunKind, RunStatus
from apps.runs.models import EntityBatch, RecordOutcome, Run


def make_run(project, *, status=RunStatus.RUNNING, total=1000, **fields) -> Run:
    now = timezone.now()
    defaults = {
        "kind": RunKind.FULL,
        "status": status,
        "plan": {"order": ["products"], "entities": {"products": {"total": total}}},
        "started_at": now - timedelta(seconds=100),
        "finished_at": None
        if status
        not in (
            RunStatus.SUCCEEDED,
            RunStatus.FAILED,
            RunStatus.PARTIALLY_FAILED,
            RunStatus.CANCELLED,
        )
        else now,
    }
    defaults.update(fields)
    return Run.objects.create(project=project, **defaults)


def add_batches(run: Run, count: int, *, per_batch: int = 5, failed: int = 1) -> None:
    EntityBatch.objects.bulk_create(
        EntityBatch(
            run=run,
            entity="products",
            seq=seq,
            status=BatchStatus.DONE if seq % 2 else BatchStatus.PENDING,
            read=per_batch,
            created=per_batch - failed,
            failed=failed,
        )
        for seq in range(count)
    )


def add_failures(run: Run, count: int, *, entity: str = "products", reason: str = "bad price"):
    return RecordOutcome.objects.bulk_create(
        RecordOutcome(
            run=run,
            entity=entity,
            source_id=f"{entity[:1]}{i}",
            natural_key=f"SKU-{entity[:1]}{i}",
            action=Action.FAILED,
            reason=f"{reason} #{i}",
        )
        for i in range(count)
    )


@pytest.fixture
def live_run(project):
    return make_run(project, status=RunStatus.RUNNING)


@pytest.fixture
def ended_run(project):
    return make_run(project, status=RunStatus.SUCCEEDED)
