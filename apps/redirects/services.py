"""SEO redirects: the entry points the dashboard, the API and the go-live gates call.

- `start_job` records a collect / push / verify job (a RedirectJob row, audited) and enqueues
  it after commit; `run_job` (the Celery task's body) runs it and records the outcome on the
  row. One job of a project at a time, so a push never races a collect.
- `upload` parses a CSV or sitemap (uploads.py) and applies it at once, as a finished job that
  lists the bad rows.
- `coverage(project)` is the gates' read: how many redirects were verified ok.
The work itself is in collect.py, uploads.py, push.py and verify.py.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.db import transaction
from django.db.models import BooleanField, Count, Min, Q
from django.db.models.expressions import RawSQL
from django.utils import timezone

from apps.core import audit
from apps.core.errors import Conflict
from apps.projects.models import Project
from apps.redirects import collect as collect_module
from apps.redirects import push as push_module
from apps.redirects import uploads
from apps.redirects import verify as verify_module
from apps.redirects.choices import TERMINAL, TRANSITIONS, JobKind, JobStatus, Problem
from apps.redirects.models import Redirect, RedirectJob
from apps.stores.connectors.base import ConnectorError

logger = logging.getLogger(__name__)

RUNNABLE = (JobKind.COLLECT, JobKind.PUSH, JobKind.VERIFY)
STALE_AFTER = timedelta(hours=2)


# --- coverage (the go-live gates' read) ------------------------------------------------------


@dataclass(frozen=True)
class Coverage:
    total: int
    verified_ok: int
    ratio: float  # verified_ok / total, 0.0 when there are no redirects (nothing is proven)
    chains: int
    loops: int
    unmapped: int
    not_verified: int  # mapped, but not checked since the last change
    checked_at: datetime | None  # the oldest check among checked rows: evidence this fresh

    @property
    def message(self) -> str:
        if self.total == 0:
            return "no redirects"
        return f"{self.verified_ok} of {self.total} redirects verified ({self.ratio:.1%})"


def coverage(project: Project) -> Coverage:
    figures = Redirect.objects.filter(project=project).aggregate(
        total=Count("pk"),
        ok=Count("pk", filter=Q(problem=Problem.OK)),
        chains=Count("pk", filter=Q(problem=Problem.CHAIN)),
        loops=Count("pk", filter=Q(problem=Problem.LOOP)),
        unmapped=Count("pk", filter=Q(new_url="")),
        not_verified=Count("pk", filter=~Q(new_url="") & Q(checked_at__isnull=True)),
        checked_at=Min("checked_at"),
    )
    total = figures["total"]
    return Coverage(
        total=total,
        verified_ok=figures["ok"],
        ratio=(figures["ok"] / total) if total else 0.0,
        chains=figures["chains"],
        loops=figures["loops"],
        unmapped=figures["unmapped"],
        not_verified=figures["not_verified"],
        checked_at=figures["checked_at"],
    )


# --- jobs ------------------------------------------------------------------------------------


def target_has_redirect_api(project: Project) -> bool:
    return project.target_store.api_family == "bigcommerce"


def start_job(project: Project, kind: str, *, user: Any = None, request: Any = None) -> RedirectJob:
    """Record a job and enqueue it after commit; Conflict (409) if one is under way."""
    if kind not in RUNNABLE:
        raise ValueError(f"Unknown job {kind!r}: choose one of {', '.join(RUNNABLE)}.")
    with transaction.atomic():
        # Lock the project row so two starts cannot both find no live job.
        Project.objects.select_for_update().filter(pk=project.pk).first()
        # A job whose worker died never finishes: after STALE_AFTER it stops blocking others.
        RedirectJob.objects.filter(
            project=project,
            status=JobStatus.RUNNING,
            started_at__lt=timezone.now() - STALE_AFTER,
        ).update(
            status=JobStatus.FAILED,
            error="No progress: the worker was lost.",
            finished_at=timezone.now(),
        )
        live = RedirectJob.objects.filter(
            project=project, kind__in=RUNNABLE, status__in=[JobStatus.QUEUED, JobStatus.RUNNING]
        ).first()
        if live is not None:
            raise Conflict(f"A redirects job is under way ({live.get_kind_display()}, #{live.pk}).")
        job = RedirectJob.objects.create(
            project=project,
            kind=kind,
            created_by=user if getattr(user, "is_authenticated", False) else None,
        )
        audit.record(
            action=f"redirects.{kind}",
            obj=job,
            user=user,
            request=request,
            project_id=project.pk,
            payload={"job": job.pk},
        )
        transaction.on_commit(lambda: _enqueue(job.pk))
    return job


def _enqueue(job_id: int) -> None:
    from apps.redirects.tasks import run_job as task

    task.delay(job_id)


def _move(job: RedirectJob, to: str, **fields: Any) -> bool:
    """Apply a legal transition with a conditional UPDATE (a redelivered task does nothing)."""
    sources = [state for state, targets in TRANSITIONS.items() if to in targets]
    changed = RedirectJob.objects.filter(pk=job.pk, status__in=sources).update(status=to, **fields)
    if changed:
        job.refresh_from_db()
    return bool(changed)


def run_job(job_id: int) -> RedirectJob | None:
    """Run a queued job; None if it is gone or was already taken (at-least-once delivery)."""
    job = RedirectJob.objects.select_related("project__source_store", "project__target_store")
    job = job.filter(pk=job_id).first()
    if job is None or job.status in TERMINAL:
        return job
    if not _move(job, JobStatus.RUNNING, started_at=timezone.now()):
        return job
    try:
        counts, errors = _run(job)
    except (ConnectorError, ValueError) as exc:
        _move(job, JobStatus.FAILED, error=str(exc)[:2000], finished_at=timezone.now())
        return job
    except Exception:
        logger.exception("redirects job %s failed", job.pk)
        _move(
            job,
            JobStatus.FAILED,
            error="Unexpected error; see the worker's log.",
            finished_at=timezone.now(),
        )
        return job
    _move(job, JobStatus.SUCCEEDED, counts=counts, errors=errors, finished_at=timezone.now())
    return job


def _run(job: RedirectJob) -> tuple[dict[str, int], list[dict[str, Any]]]:
    project = job.project
    if job.kind == JobKind.COLLECT:
        return collect_module.collect(project), []
    if job.kind == JobKind.PUSH:
        if target_has_redirect_api(project):
            return push_module.push_bigcommerce(project)
        return push_module.mark_exported(project), []
    return verify_module.verify(project), []


def run_now(project: Project, kind: str, *, user: Any = None) -> RedirectJob:
    """Start a job and run it in this process (management commands, tests)."""
    job = start_job(project, kind, user=user)
    result = run_job(job.pk)
    assert result is not None
    return result


# --- the steps, callable directly -------------------------------------------------------------

collect = collect_module.collect
verify = verify_module.verify
redirection_csv = push_module.redirection_csv


def push(project: Project) -> tuple[dict[str, int], list[dict[str, Any]]]:
    if target_has_redirect_api(project):
        return push_module.push_bigcommerce(project)
    return push_module.mark_exported(project), []


# --- uploads ---------------------------------------------------------------------------------


def upload(
    project: Project,
    kind: str,
    data: bytes,
    *,
    filename: str = "",
    user: Any = None,
    request: Any = None,
) -> RedirectJob:
    """Parse and apply an upload; uploads.UploadRejected when the whole file is unusable."""
    if kind not in ("csv", "sitemap"):
        raise uploads.UploadRejected("Choose csv or sitemap.")
    parsed = uploads.parse(kind, data)
    now = timezone.now()
    with transaction.atomic():
        counts = uploads.apply(project, kind, parsed)
        job = RedirectJob.objects.create(
            project=project,
            kind=JobKind.UPLOAD,
            status=JobStatus.SUCCEEDED,
            counts=counts,
            errors=parsed.errors[: push_module.MAX_JOB_ERRORS],
            filename=filename[:255],
            created_by=user if getattr(user, "is_authenticated", False) else None,
            started_at=now,
            finished_at=now,
        )
        audit.record(
            action="redirects.upload",
            obj=job,
            user=user,
            request=request,
            project_id=project.pk,
            payload={"kind": kind, "filename": filename[:255], **counts},
        )
    return job


@dataclass(frozen=True)
class RedirectPage:
    rows: list[Redirect]
    # "rank:old_path" of the last row when there is a next page, else None.
    next_cursor: str | None


def parse_cursor(value: str) -> tuple[int, str] | None:
    """A page cursor from a link, or None when it is not one (a bad one starts at the top)."""
    rank, sep, path = (value or "").partition(":")
    if not sep or not rank.isdigit() or len(rank) > 2 or len(path) > 2000:
        return None
    return int(rank), path


def problems_page(
    project: Project, *, problem: str = "", after: tuple[int, str] | None = None, size: int = 100
) -> RedirectPage:
    """One page of the project's redirects, problems first (Redirect.rank), then by old path.

    Keyset on (rank, old_path), which an index holds: the last page costs what the first does
    (Django's paginator counted and sorted every row: 190 ms at 100,000 redirects)."""
    rows = Redirect.objects.filter(project=project)
    if problem in Problem.values:
        rows = rows.filter(problem=problem)
    elif problem == "unmapped":
        rows = rows.filter(new_url="")
    if after is not None:
        rows = rows.filter(
            RawSQL(
                '("redirects_redirect"."rank", "redirects_redirect"."old_path") > (%s, %s)',
                after,
                output_field=BooleanField(),
            )
        )
    found = list(rows.order_by("rank", "old_path")[: size + 1])
    more = len(found) > size
    found = found[:size]
    return RedirectPage(
        rows=found,
        next_cursor=f"{found[-1].rank}:{found[-1].old_path}" if more and found else None,
    )
