"""The migration engine's entry points: plan a run, process a batch, finish a run.

Celery tasks call these with ids (apps/runs/tasks.py); tests and `run_inline` call them directly.
Every function re-reads its rows and exits quietly when there is nothing left to do, because a
task may be delivered more than once.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

from django.db import transaction
from django.db.models import Count, Q, Sum

from apps.runs import batches, states
from apps.runs.choices import BatchStatus, RunStatus
from apps.runs.models import EntityBatch, Run
from apps.runs.planning import make_plan
from apps.runs.processing import BatchProcessor, LeaseLost
from apps.stores.connectors.base import ConnectorError, TransientError
from apps.stores.services import build_connector

log = logging.getLogger(__name__)

# After this many attempts a batch whose source page cannot be read is failed with its reason.
MAX_BATCH_ATTEMPTS = 5


class BatchDeferred(Exception):
    """The batch met a passing fault (timeout, 5xx, dropped connection) and was given back;
    the task retries it later with backoff."""


def _enqueue_batches(batch_ids: list[int]) -> None:
    from apps.runs import tasks

    for batch_id in batch_ids:
        tasks.process_batch.delay(batch_id)


def plan_run(run_id: int, enqueue: Callable[[list[int]], None] = _enqueue_batches) -> None:
    run = Run.objects.select_related("project__source_store").filter(pk=run_id).first()
    if run is None or not run.is_live:
        return
    if run.status == RunStatus.QUEUED and not states.transition(run, RunStatus.PLANNING):
        return
    if run.status not in (RunStatus.PLANNING, RunStatus.RUNNING):
        return
    source = build_connector(run.project.source_store)
    try:
        make_plan(run, source)
    except TransientError as exc:
        # Planning is repeatable (batches are unique per run and sequence): try again later.
        raise BatchDeferred(f"planning: {exc}") from exc
    except ConnectorError as exc:
        states.transition(run, RunStatus.FAILED, error=f"Planning failed: {exc}")
        return
    finally:
        source.close()
    if run.status == RunStatus.PLANNING:
        states.transition(run, RunStatus.RUNNING)
    pending = list(
        run.batches.filter(status=BatchStatus.PENDING).order_by("seq").values_list("id", flat=True)
    )
    if not pending:
        finish_run_if_done(run.pk)
        return
    transaction.on_commit(lambda: enqueue(pending))


def process_batch(batch_id: int) -> None:
    batch = batches.claim(batch_id)
    if batch is None:
        return
    run = batch.run
    if not run.is_live:
        batches.fail(batch, f"Run {run.get_status_display().lower()}.")
        return
    source = build_connector(run.project.source_store)
    target = build_connector(run.project.target_store)
    try:
        processor = BatchProcessor(batch, source, target)
        processor.commit(processor.process())
    except LeaseLost:
        log.warning("Lease on batch %s lost; another worker completes it.", batch_id)
        return
    except ConnectorError as exc:
        # Retryable faults come back with backoff; after the cap, or for a fault that will not
        # pass (a 401, a 404 page), the batch fails with its reason and the run goes on.
        if exc.retryable and batch.attempts < MAX_BATCH_ATTEMPTS:
            batches.release(batch, str(exc))
            raise BatchDeferred(str(exc)) from exc
        batches.fail(batch, f"{exc} (attempt {batch.attempts})")
    finally:
        source.close()
        target.close()
    finish_run_if_done(run.pk)


def finish_run_if_done(run_id: int) -> None:
    """End the run once no batch is pending or running. Each batch calls this after its own
    commit, so the last one to finish always sees the others done."""
    run = Run.objects.filter(pk=run_id).first()
    if run is None or run.status != RunStatus.RUNNING:
        return
    summary = EntityBatch.objects.filter(run=run).aggregate(
        open=Count("id", filter=Q(status__in=[BatchStatus.PENDING, BatchStatus.RUNNING])),
        failed_batches=Count("id", filter=Q(status=BatchStatus.FAILED)),
        failed_records=Sum("failed"),
    )
    if summary["open"]:
        return
    if summary["failed_batches"]:
        error = f"{summary['failed_batches']} batch(es) could not be processed; see the batches."
        states.transition(run, RunStatus.PARTIALLY_FAILED, error=error)
    elif summary["failed_records"]:
        states.transition(run, RunStatus.PARTIALLY_FAILED)
    else:
        states.transition(run, RunStatus.SUCCEEDED)


def run_inline(run_id: int) -> Run:
    """Plan and process a run in this process, batch after batch (tests, CLI rehearsals)."""
    collected: list[int] = []
    plan_run(run_id, enqueue=collected.extend)
    if not collected:  # outside a transaction on_commit runs at once; inside, it waits
        collected = list(
            EntityBatch.objects.filter(run_id=run_id, status=BatchStatus.PENDING)
            .order_by("seq")
            .values_list("id", flat=True)
        )
    for batch_id in collected:
        process_batch(batch_id)
    return Run.objects.get(pk=run_id)
