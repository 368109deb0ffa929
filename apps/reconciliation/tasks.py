"""The verify run's Celery task: thin, acks late. A message delivered again while another
worker builds the report (its lease is live) looks again when the lease expires; delivered to
a run still running with no live builder, it rebuilds the report from scratch; delivered to a
finished run, it does nothing."""

from __future__ import annotations

from celery import shared_task

from apps.reconciliation import services


@shared_task(name="reconciliation.verify_run", bind=True, acks_late=True)
def verify_run(self, run_id: int) -> None:
    wait = services.execute(run_id)
    if wait is not None:
        raise self.retry(countdown=wait, max_retries=None)
