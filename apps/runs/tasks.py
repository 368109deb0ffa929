"""Celery tasks: thin wrappers that pass ids and call one engine function each.

The decorators hold the retry policy: a batch given back after a passing fault is retried with
exponential backoff and jitter; the engine caps attempts per batch itself.
"""

from __future__ import annotations

from celery import shared_task

from apps.runs import engine, schedules

RETRY = {
    "autoretry_for": (engine.BatchDeferred,),
    "retry_backoff": 2,
    "retry_backoff_max": 120,
    "retry_jitter": True,
    "max_retries": engine.MAX_BATCH_ATTEMPTS + 2,
}


@shared_task(name="runs.plan_run", **RETRY)
def plan_run(run_id: int) -> None:
    engine.plan_run(run_id)


# A run sends all of a stage's batches at once, and Redis delivers a queue in order: the
# reaper's message would wait behind the whole backlog, and a dead worker's batch with it.
# Redis serves priority 0 (every other task's) before a higher number, so batches are sent
# with this one (engine._enqueue_batches; a retry keeps its message's priority).
BATCH_PRIORITY = 6


@shared_task(name="runs.process_batch", bind=True, **RETRY)
def process_batch(self, batch_id: int) -> None:
    wait = engine.process_batch(batch_id)
    if wait is not None:
        # Another worker holds the lease, perhaps a dead one: look again when it expires.
        raise self.retry(countdown=wait, max_retries=None)


@shared_task(name="runs.reap")
def reap() -> dict[str, int]:
    return engine.reap()


@shared_task(name="runs.scheduled_start")
def scheduled_start(schedule_id: int) -> str | None:
    """Fired by beat for a project's Schedule. No retry: a refused or failed firing is
    recorded on the schedule and the next tick tries again (a retry could start a run late)."""
    firing = schedules.fire(schedule_id)
    return firing.outcome if firing else None
