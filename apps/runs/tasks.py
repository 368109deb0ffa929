"""Celery tasks: thin wrappers that pass ids and call one engine function each."""

from __future__ import annotations

from celery import shared_task

from apps.runs import engine


@shared_task(name="runs.plan_run")
def plan_run(run_id: int) -> None:
    engine.plan_run(run_id)


@shared_task(name="runs.process_batch")
def process_batch(batch_id: int) -> None:
    engine.process_batch(batch_id)
