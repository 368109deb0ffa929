"""Dry runs as plans: what a full or delta run would do, per entity, and starting it for real.

A dry run classifies every record like the run it rehearses (reading the target) and writes
nothing; its batch counters are the plan: would create / update / merge / conflict / delete,
unchanged. "Start this run for real" starts the rehearsed kind with the same options.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.core.exceptions import ValidationError

from apps.core.errors import Conflict
from apps.runs import planning, points, services
from apps.runs.choices import RunKind, RunStatus
from apps.runs.models import Run
from apps.runs.services import EntityProgress

# A dry run whose records were all classified (some may have failed validation, which the real
# run would fail too).
PLANNED = (RunStatus.SUCCEEDED, RunStatus.PARTIALLY_FAILED)


@dataclass(frozen=True)
class PlanRow:
    entity: str
    create: int
    update: int
    merge: int
    conflict: int
    delete: int
    unchanged: int
    skipped: int
    failed: int
    points: int

    @property
    def writes(self) -> int:
        return self.create + self.update + self.merge + self.delete


def rehearsed_options(run: Run) -> dict[str, Any]:
    """The options the real run takes: the dry run's, less "of"."""
    return {key: value for key, value in run.options.items() if key != "of"}


def describe(run: Run) -> str:
    """ "a delta, also looking for deletes" — what the dry run rehearses."""
    kind = planning.rehearsed_kind(run)
    text = "a full migration" if kind == RunKind.FULL else "a delta sync"
    if run.options.get("deletes"):
        text += ", also looking for records deleted at the source"
    return text


def points_read(run: Run, progress: list[EntityProgress]) -> dict[str, int]:
    """Entity Points of what the rehearsal read: records times the entity's weight. The real run
    reads the same records (a delta only the changed ones, where the platform can list them),
    which its plan-time estimate cannot know yet."""
    table = points.weights(run.project)
    return {p.entity: p.processed * table.get(p.entity, 1) for p in progress}


def plan_rows(progress: list[EntityProgress], points: dict[str, int]) -> list[PlanRow]:
    """The plan per entity from the dry run's progress (its batch counters)."""
    return [
        PlanRow(
            entity=p.entity,
            create=p.created,
            update=p.updated,
            merge=p.merged,
            conflict=p.conflicts,
            delete=p.deleted,
            unchanged=p.unchanged,
            skipped=p.skipped,
            failed=p.failed,
            points=int(points.get(p.entity, 0)),
        )
        for p in progress
    ]


def plan_totals(rows: list[PlanRow]) -> PlanRow:
    return PlanRow(
        entity="",
        **{
            name: sum(getattr(row, name) for row in rows)
            for name in (
                "create",
                "update",
                "merge",
                "conflict",
                "delete",
                "unchanged",
                "skipped",
                "failed",
                "points",
            )
        },
    )


def stale_since(run: Run) -> Run | None:
    """The sync run that finished after this dry run was planned, if any: the plan describes a
    window that has moved on."""
    if run.kind != RunKind.DRY_RUN:
        return None
    mark = planning.watermark(run.project)
    if mark is None or run.until is None or mark.until is None:
        return None
    return mark if mark.until > run.until else None


def refusal(run: Run) -> str:
    """Why this dry run cannot be started for real, or "" when it can."""
    if run.kind != RunKind.DRY_RUN:
        return f"Run #{run.pk} is not a dry run."
    if run.status not in PLANNED:
        return (
            f"Dry run #{run.pk} is {run.get_status_display().lower()}; start it for real once "
            "it has succeeded."
        )
    return ""


def start_for_real(
    run: Run, *, user: Any, request: Any = None, override_budget: bool = False
) -> Run:
    """Start the run this dry run rehearsed, with the same options. Conflict when the dry run
    did not finish (or the project has a live run); the usual start_run checks apply."""
    reason = refusal(run)
    if reason:
        raise Conflict(reason)
    kind = planning.rehearsed_kind(run)
    if kind not in (RunKind.FULL, RunKind.DELTA):
        raise ValidationError({"kind": f"A dry run of {kind!r} cannot be started for real."})
    return services.start_run(
        run.project,
        kind=kind,
        user=user,
        request=request,
        override_budget=override_budget,
        options=rehearsed_options(run) or None,
    )
