"""Celery task: a thin wrapper; the job row holds status, counts and errors."""

from __future__ import annotations

from celery import shared_task

from apps.redirects import services


@shared_task(name="redirects.run_job")
def run_job(job_id: int) -> str | None:
    job = services.run_job(job_id)
    return None if job is None else job.status
