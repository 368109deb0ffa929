"""Who executes a run of each kind.

The engine (plan → batches) executes the sync kinds and rollbacks. A higher app may execute a
kind of its own (reconciliation executes `verify`): it registers a Celery task name and an
in-process function in its AppConfig.ready(), so this app never imports it (imports point
downhill, see docs/ARCHITECTURE.md).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from celery import current_app


@dataclass(frozen=True)
class Executor:
    task_name: str  # the Celery task that takes the run id
    inline: Callable[[int], None]  # the same work in this process (tests, CLI rehearsals)


_REGISTRY: dict[str, Executor] = {}


def register(kind: str, task_name: str, inline: Callable[[int], None]) -> None:
    _REGISTRY[kind] = Executor(task_name=task_name, inline=inline)


def registered(kind: str) -> Executor | None:
    return _REGISTRY.get(kind)


def send(run_id: int, kind: str) -> None:
    """Send the run's first task: its kind's executor, or the engine's planning."""
    executor = _REGISTRY.get(kind)
    if executor is not None:
        current_app.send_task(executor.task_name, args=[run_id])
        return
    from apps.runs import tasks

    tasks.plan_run.delay(run_id)
