"""The migration engine's entry points: plan a run, process a batch, finish a run.

Celery tasks call these with ids (apps/runs/tasks.py); tests and `run_inline` call them directly.
Every function re-reads its rows and exits quietly when there is nothing left to do, because a
task may be delivered more than once.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import timedelta

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import Count, Max, Q, Sum
from django.utils import timezone

from apps.runs import batches, executors, states
from apps.runs.choices import BatchStatus, RunKind, RunStatus
from apps.runs.deletes import DeleteProcessor
from apps.runs.models import EntityBatch, Run
from apps.runs.planning import make_plan, stage_filter
from apps.runs.processing import BatchProcessor, LeaseLost
from apps.runs.rollback import RollbackProcessor
from apps.stores.connectors.base import ConnectorError, TransientError
from apps.stores.services import build_connector

log = logging.getLogger(__name__)

# After this many attempts a batch whose source page cannot be read is failed with its reason.
MAX_BATCH_ATTEMPTS = 5


# Batches whose cursor names a mode have their own processor; the others read source pages.
PROCESSORS: dict[str | None, type[BatchProcessor]] = {
    "deletes": DeleteProcessor,
    "rollback": RollbackProcessor,
}


class BatchDeferred(Exception):
    """The batch met a passing fault (timeout, 5xx, dropped connection) and was given back;
    the task retries it later with backoff."""


def _enqueue_batches(batch_ids: list[int]) -> None:
    from apps.runs import tasks

    for batch_id in batch_ids:
        tasks.process_batch.apply_async((batch_id,), priority=tasks.BATCH_PRIORITY)


Enqueue = Callable[[list[int]], None]


def plan_run(run_id: int, enqueue: Enqueue = _enqueue_batches) -> None:
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
    except (ConnectorError, ValueError) as exc:
        states.transition(run, RunStatus.FAILED, error=f"Planning failed: {exc}")
        return
    finally:
        source.close()
    if run.status == RunStatus.PLANNING:
        states.transition(run, RunStatus.RUNNING)
    advance_run(run.pk, enqueue)


def process_batch(batch_id: int, enqueue: Enqueue = _enqueue_batches) -> float | None:
    """Process one batch. Returns seconds to wait when another worker holds its lease (the task
    then tries again after that; the holder may have died)."""
    batch = batches.claim(batch_id)
    if batch is None:
        return batches.lease_wait_seconds(batch_id)
    run = batch.run
    if not run.is_live:
        batches.fail(batch, f"Run {run.get_status_display().lower()}.")
        return None
    source = build_connector(run.project.source_store)
    target = build_connector(run.project.target_store)
    try:
        processor_class = PROCESSORS.get(batch.cursor.get("mode"), BatchProcessor)
        processor = processor_class(batch, source, target, dry=run.kind == RunKind.DRY_RUN)
        processor.execute()
    except LeaseLost:
        log.warning("Lease on batch %s lost; another worker completes it.", batch_id)
        return None
    except IntegrityError as exc:
        # Two workers adopted one target record at once; the retry sees the other's mapping.
        batches.release(batch, f"concurrent mapping: {exc}")
        raise BatchDeferred(str(exc)) from exc
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
    advance_run(run.pk, enqueue)
    return None


def advance_run(run_id: int, enqueue: Enqueue = _enqueue_batches) -> None:
    """Send the batches of the first unfinished stage, or end the run when none is left.

    Every batch calls this after its own commit, serialised on the run row, so the last batch
    of a stage always starts the next one and the last batch of the run ends it."""
    with transaction.atomic():
        run = Run.objects.select_for_update().filter(pk=run_id).first()
        if run is None or run.status != RunStatus.RUNNING:
            return
        # Per stage, an EXISTS that stops at the first open batch: a run of 10,000 batches
        # calls this 10,000 times, so nothing here may scan the run's batches.
        for stage in run.plan.get("stages") or [run.plan.get("order", [])]:
            batches_of_stage = EntityBatch.objects.filter(stage_filter(stage), run=run)
            if not batches_of_stage.filter(
                status__in=[BatchStatus.PENDING, BatchStatus.RUNNING]
            ).exists():
                continue
            ids = list(
                batches_of_stage.filter(status=BatchStatus.PENDING, queued_at__isnull=True)
                .order_by("seq")
                .values_list("id", flat=True)
            )
            if ids:
                EntityBatch.objects.filter(pk__in=ids).update(queued_at=timezone.now())
                if enqueue is _enqueue_batches:
                    # A worker must not pick a batch up before this transaction is visible.
                    transaction.on_commit(lambda ids=ids: enqueue(ids))
                else:
                    enqueue(ids)
            return
        _finish(run)


def _finish(run: Run) -> None:
    summary = EntityBatch.objects.filter(run=run).aggregate(
        failed_batches=Count("id", filter=Q(status=BatchStatus.FAILED)),
        failed_records=Sum("failed"),
    )
    if summary["failed_batches"]:
        error = f"{summary['failed_batches']} batch(es) could not be processed; see the batches."
        states.transition(run, RunStatus.PARTIALLY_FAILED, error=error)
    elif summary["failed_records"]:
        states.transition(run, RunStatus.PARTIALLY_FAILED)
    else:
        states.transition(run, RunStatus.SUCCEEDED)


def reap(enqueue: Enqueue = _enqueue_batches) -> dict[str, int]:
    """Periodic repair for what a dead worker or a lost message left behind:
    - a running batch whose lease expired goes back to pending and is sent again;
    - a live run that made no progress for STALL_SECONDS has its waiting batches sent again
      (a broker may have lost their messages; a duplicate is refused by the lease claim);
    - a run stuck queued or planning that long is planned again."""
    now = timezone.now()
    stalled_before = now - timedelta(seconds=settings.RUN_STALL_SECONDS)
    resent: list[int] = []
    expired = EntityBatch.objects.filter(
        status=BatchStatus.RUNNING, lease_expires_at__lt=now, run__status=RunStatus.RUNNING
    )
    for batch_id in list(expired.values_list("id", flat=True)[:1000]):
        if EntityBatch.objects.filter(
            pk=batch_id, status=BatchStatus.RUNNING, lease_expires_at__lt=now
        ).update(status=BatchStatus.PENDING, lease_owner="", lease_expires_at=None, queued_at=now):
            resent.append(batch_id)
    replanned = 0
    for run in Run.objects.filter(status__in=[RunStatus.QUEUED, RunStatus.PLANNING]):
        if (run.started_at or run.created_at) < stalled_before:
            executors.send(run.pk, run.kind)
            replanned += 1
    for run in Run.objects.filter(status=RunStatus.RUNNING):
        if executors.registered(run.kind) is not None:
            continue  # not batched by the engine: its executor repairs itself
        # Progress of the first delivery only: a batch sent again for an expired lease (a dead
        # worker) is claimed and finished meanwhile, and must not hide messages the broker lost.
        latest = run.batches.aggregate(
            latest=Max("finished_at", filter=Q(attempts=1)),
            sent=Max("queued_at", filter=Q(attempts=0)),
            started=Max("started_at", filter=Q(attempts=1)),
        )
        activity = max((t for t in latest.values() if t), default=run.started_at)
        if activity and activity < stalled_before:
            # Only batches sent before the stall began: ones sent since the aggregate above
            # (advance_run committing a new stage's queued_at) are on their way, not lost.
            waiting = run.batches.filter(status=BatchStatus.PENDING, queued_at__lt=stalled_before)
            ids = list(waiting.values_list("id", flat=True)[:1000])
            waiting.filter(pk__in=ids).update(queued_at=now)
            resent.extend(ids)
        advance_run(run.pk, enqueue)
    if resent:
        enqueue(resent)
    return {"resent": len(resent), "replanned": replanned}


def run_inline(run_id: int) -> Run:
    """Plan and process a run in this process, stage after stage (tests, CLI rehearsals)."""
    kind = Run.objects.filter(pk=run_id).values_list("kind", flat=True).first()
    executor = executors.registered(kind) if kind else None
    if executor is not None:
        executor.inline(run_id)
        return Run.objects.get(pk=run_id)
    queue: list[int] = []
    plan_run(run_id, enqueue=queue.extend)
    while queue:
        process_batch(queue.pop(0), enqueue=queue.extend)
    return Run.objects.get(pk=run_id)
