"""Starting, cancelling and reading runs. The engine itself is in apps/runs/engine.py."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, transaction
from django.db.models import Count, Max, Q, Sum

from apps.core import audit
from apps.core.errors import Conflict
from apps.core.roles import Capability
from apps.projects.access import can
from apps.projects.models import Project
from apps.runs import executors, planning, points, states
from apps.runs.choices import (
    SUPPORTED_KINDS,
    SYNC_KINDS,
    WRITING_KINDS,
    Action,
    BatchStatus,
    RunKind,
    RunStatus,
)
from apps.runs.models import EntityBatch, Run
from apps.stores.connectors.base import ConnectorError
from apps.stores.services import build_connector


@dataclass(frozen=True)
class EntityProgress:
    entity: str
    total: int
    processed: int
    created: int
    updated: int
    unchanged: int
    skipped: int
    failed: int
    batches_total: int
    batches_done: int
    merged: int = 0
    conflicts: int = 0
    deleted: int = 0
    # For the ETA: records read and target requests sent by finished batches, and the last
    # batch's finish time.
    done_read: int = 0
    done_requests: int = 0
    last_finished: datetime | None = None

    @property
    def percent(self) -> int:
        if self.total <= 0:
            return 100 if self.batches_total and self.batches_done == self.batches_total else 0
        return min(100, round(100 * self.processed / self.total))

    @property
    def ok(self) -> int:
        return self.created + self.updated + self.unchanged + self.merged + self.deleted


class BudgetExceeded(Conflict):
    """The run's Entity Points estimate would take the project past its budget."""


def _estimate_points(project: Project, kind: str, parent: Run | None) -> int:
    if kind == RunKind.RETRY_FAILED and parent is not None:
        counts = dict(
            parent.outcomes.filter(action=Action.FAILED)
            .values("entity")
            .annotate(n=Count("id"))
            .values_list("entity", "n")
        )
    else:
        source = build_connector(project.source_store)
        try:
            counts = planning.count_source(project.entities, source)
        except ConnectorError as exc:
            raise ValidationError(
                {"kind": f"Cannot reach the source store to estimate the run: {exc}"}
            ) from exc
        finally:
            source.close()
    return sum(points.estimate(project, counts).values())


def _check_budget(
    project: Project, kind: str, parent: Run | None, user: Any, override: bool
) -> int | None:
    """The estimate when the project has a budget (None otherwise); raises BudgetExceeded
    unless an admin overrides."""
    if project.points_budget is None:
        return None
    estimate = _estimate_points(project, kind, parent)
    reason = points.over_budget(project, estimate)
    if reason and not override:
        raise BudgetExceeded(reason)
    if reason and not can(user, project, Capability.MANAGE):
        raise PermissionDenied("Only a project admin can start a run past the points budget.")
    return estimate


def _check_options(project: Project, kind: str, options: dict[str, Any]) -> dict[str, Any]:
    unknown = sorted(set(options) - {"deletes", "of"})
    if unknown:
        raise ValidationError({"options": f"Unknown options: {', '.join(unknown)}."})
    clean: dict[str, Any] = {}
    if "deletes" in options:
        if not isinstance(options["deletes"], bool):
            raise ValidationError({"options": "deletes is true or false."})
        clean["deletes"] = options["deletes"]
    rehearsed = kind
    if kind == RunKind.DRY_RUN:
        rehearsed = options.get(
            "of", RunKind.DELTA if planning.watermark(project) else RunKind.FULL
        )
        if rehearsed not in SYNC_KINDS:
            raise ValidationError({"options": "A dry run rehearses a full or a delta run."})
        clean["of"] = rehearsed
    elif "of" in options:
        raise ValidationError({"options": "Only a dry run takes 'of'."})
    if rehearsed == RunKind.DELTA and planning.watermark(project) is None:
        raise ValidationError(
            {"kind": "A delta needs a baseline: run a full migration of the project first."}
        )
    return clean


ROLLBACK_ELSEWHERE = (
    "A rollback is started from the project's cutover plan (POST "
    "/api/v1/projects/{project}/rollbacks/), which checks its rollback window; it cannot be "
    "started as a run directly."
)


def _check_rollback(project: Project, parent: Run | None) -> None:
    """A rollback undoes one ended run of this project that wrote to the target, once, and
    only the latest such run (a later run may have written over the same records: roll that
    one back first)."""
    if parent is None:
        raise ValidationError({"parent": "A rollback needs the run to undo (parent)."})
    if parent.project_id != project.pk:
        raise ValidationError({"parent": f"Run #{parent.pk} belongs to another project."})
    if parent.is_live:
        raise ValidationError(
            {
                "parent": f"Run #{parent.pk} has not ended "
                f"({parent.get_status_display().lower()}): wait for it or cancel it first."
            }
        )
    if parent.kind not in WRITING_KINDS:
        raise ValidationError(
            {
                "parent": f"Run #{parent.pk} ({parent.get_kind_display().lower()}) wrote "
                "nothing that a rollback could undo."
            }
        )
    done = parent.children.filter(kind=RunKind.ROLLBACK, status=RunStatus.SUCCEEDED).first()
    if done is not None:
        raise ValidationError(
            {"parent": f"Run #{parent.pk} was already rolled back by run #{done.pk}."}
        )
    later = (
        project.runs.filter(kind__in=WRITING_KINDS, pk__gt=parent.pk)
        .exclude(children__kind=RunKind.ROLLBACK, children__status=RunStatus.SUCCEEDED)
        .order_by("-pk")
        .first()
    )
    if later is not None:
        raise ValidationError(
            {
                "parent": f"Run #{later.pk} ({later.get_kind_display().lower()}) ran after "
                f"run #{parent.pk} and may have written the same records: roll it back first."
            }
        )


def start_run(
    project: Project,
    *,
    kind: str,
    user: Any = None,
    request: Any = None,
    parent: Run | None = None,
    override_budget: bool = False,
    options: dict[str, Any] | None = None,
    rollback_approved: bool = False,
) -> Run:
    """Queue a run and enqueue its planning once the transaction commits.

    Refused with Conflict while the project has a live run (the database's partial unique
    index decides, so two simultaneous starts make one run), and with BudgetExceeded when its
    Entity Points estimate passes the project's budget, unless an admin overrides (audited).

    A rollback (kind rollback, `parent` the run to undo) is only started by the go-live app,
    which checks the rollback window and passes `rollback_approved=True`; it is never refused
    for the points budget (undoing must stay possible)."""
    if kind not in RunKind.values:
        raise ValidationError({"kind": f"Unknown run kind {kind!r}."})
    if kind not in SUPPORTED_KINDS and executors.registered(kind) is None:
        raise ValidationError({"kind": f"Run kind {kind!r} is not available yet."})
    if kind == RunKind.RETRY_FAILED:
        parent = (
            parent
            or project.runs.filter(
                status=RunStatus.PARTIALLY_FAILED, kind__in=WRITING_KINDS
            ).first()
        )
        if parent is None or parent.project_id != project.pk:
            raise ValidationError({"kind": "There is no partially failed run to retry."})
        if parent.kind == RunKind.ROLLBACK:
            raise ValidationError(
                {"parent": f"Run #{parent.pk} is a rollback: start it again from the cutover plan."}
            )
        if parent.status != RunStatus.PARTIALLY_FAILED:
            raise ValidationError(
                {"parent": f"Run #{parent.pk} did not partially fail: it has nothing to retry."}
            )
    if kind == RunKind.ROLLBACK:
        if not rollback_approved:
            raise ValidationError({"kind": ROLLBACK_ELSEWHERE.format(project=project.pk)})
        _check_rollback(project, parent)
        if options:
            raise ValidationError({"options": "A rollback takes no options."})
    options = _check_options(project, kind, options or {})
    # Points price what a run writes: a rollback undoes writes, a verify only reads.
    estimate = (
        None
        if kind in (RunKind.ROLLBACK, RunKind.VERIFY)
        else _check_budget(project, kind, parent, user, override_budget)
    )
    overridden = bool(estimate is not None and points.over_budget(project, estimate))
    try:
        with transaction.atomic():
            run = Run.objects.create(
                project=project,
                kind=kind,
                options=options,
                parent=parent,
                created_by=user,
                points_estimate=estimate or 0,
                budget_override=overridden,
            )
            audit.record(
                action="run.started",
                obj=run,
                user=user,
                request=request,
                project_id=project.pk,
                payload={"kind": kind, "parent": parent.pk if parent else None, **options},
            )
            if overridden:
                audit.record(
                    action="run.budget_override",
                    obj=run,
                    user=user,
                    request=request,
                    project_id=project.pk,
                    payload={"estimate": estimate, "budget": project.points_budget},
                )
    except IntegrityError:
        live = project.runs.exclude(status__in=[s.value for s in states.TERMINAL]).first()
        label = f"run #{live.pk} ({live.get_status_display()})" if live else "a run"
        raise Conflict(
            f"The project already has {label} in progress; wait for it or cancel it."
        ) from None
    transaction.on_commit(lambda: executors.send(run.pk, run.kind))
    return run


@transaction.atomic
def cancel_run(run: Run, *, user: Any = None, request: Any = None) -> Run:
    run = Run.objects.select_for_update().get(pk=run.pk)
    if not run.is_live:
        raise Conflict(f"Run #{run.pk} has already ended ({run.get_status_display()}).")
    states.transition(run, RunStatus.CANCELLED, error="Cancelled by a user.")
    run.batches.filter(status__in=[BatchStatus.PENDING, BatchStatus.RUNNING]).update(
        status=BatchStatus.FAILED, error="Run cancelled."
    )
    audit.record(
        action="run.cancelled", obj=run, user=user, request=request, project_id=run.project_id
    )
    return run


def entity_progress(run: Run) -> list[EntityProgress]:
    """Per-entity progress from batch counters: one grouped query, no per-record scan."""
    rows = (
        EntityBatch.objects.filter(run=run)
        .values("entity")
        .annotate(
            processed=Sum("read"),
            created=Sum("created"),
            updated=Sum("updated"),
            unchanged=Sum("unchanged"),
            skipped=Sum("skipped"),
            failed=Sum("failed"),
            merged=Sum("merged"),
            conflicts=Sum("conflicts"),
            deleted=Sum("deleted"),
            batches_total=Count("id"),
            batches_done=Count("id", filter=Q(status__in=[BatchStatus.DONE, BatchStatus.FAILED])),
            done_read=Sum("read", filter=Q(finished_at__isnull=False)),
            done_requests=Sum("requests", filter=Q(finished_at__isnull=False)),
            last_finished=Max("finished_at"),
        )
    )
    by_entity = {row["entity"]: row for row in rows}
    result = []
    for entity in run.plan.get("order", list(by_entity)):
        row = by_entity.get(entity, {})
        result.append(
            EntityProgress(
                entity=entity,
                total=int(run.plan.get("entities", {}).get(entity, {}).get("total", 0)),
                processed=row.get("processed") or 0,
                created=row.get("created") or 0,
                updated=row.get("updated") or 0,
                unchanged=row.get("unchanged") or 0,
                skipped=row.get("skipped") or 0,
                failed=row.get("failed") or 0,
                batches_total=row.get("batches_total") or 0,
                batches_done=row.get("batches_done") or 0,
                merged=row.get("merged") or 0,
                conflicts=row.get("conflicts") or 0,
                deleted=row.get("deleted") or 0,
                done_read=row.get("done_read") or 0,
                done_requests=row.get("done_requests") or 0,
                last_finished=row.get("last_finished"),
            )
        )
    return result
