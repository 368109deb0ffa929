"""Receivers of the engine's signals (connected in GoliveConfig.ready): re-evaluate the plan
and notify. They run after the engine's transaction committed and never raise into it."""

from __future__ import annotations

import logging
from typing import Any

from apps.golive import notifications, services
from apps.golive.choices import CheckKind, Event
from apps.golive.models import CutoverPlan

log = logging.getLogger(__name__)


def _reevaluate(project_id: int, kinds: set[str] | None = None) -> None:
    # Only existing plans: a plan is created when someone opens it.
    plan = CutoverPlan.objects.filter(project_id=project_id).first()
    if plan is None:
        return
    try:
        services.evaluate(plan, kinds=kinds)
    except Exception:
        log.exception("re-evaluating the cutover plan of project %s failed", project_id)


def on_run_finished(sender: Any, run: Any, **kwargs: Any) -> None:
    try:
        notifications.notify_safely(
            run.project,
            Event.RUN_FINISHED,
            {
                "run_id": run.pk,
                "kind": run.kind,
                "status": run.status,
                "parent": run.parent_id,
                "finished_at": run.finished_at.isoformat() if run.finished_at else None,
                "error": (run.error or "")[:500],
            },
        )
    except Exception:
        log.exception("run.finished notification for run %s failed", getattr(run, "pk", None))
    _reevaluate(run.project_id)


def on_conflict_opened(
    sender: Any, run: Any, conflict: Any = None, entity: str = "", source_id: str = "", **kw: Any
) -> None:
    try:
        notifications.notify_safely(
            run.project,
            Event.CONFLICT_OPENED,
            {
                "conflict_id": getattr(conflict, "pk", None),
                "run_id": run.pk,
                "entity": entity,
                "source_id": source_id,
                "fields": list(getattr(conflict, "fields", []) or []),
            },
        )
    except Exception:
        log.exception("conflict.opened notification for run %s failed", getattr(run, "pk", None))
    # A delta may open hundreds: re-measure only the queue.
    _reevaluate(run.project_id, {CheckKind.OPEN_CONFLICTS})
