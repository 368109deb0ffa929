"""Dashboard pages for one run: the run page, its live progress partial, cancel.

The progress block follows the NetBox pattern: the page `{% include %}`s the same partial the
`runs:progress` view renders; while the run is live the partial polls itself, and once the run
has ended the view answers 286 so htmx stops polling even if an old element is still on screen.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.views.decorators.http import require_GET, require_POST
from django_htmx.http import HTMX_STOP_POLLING

from apps.core.errors import Conflict
from apps.core.roles import Capability, role_allows
from apps.projects.access import require
from apps.runs import services
from apps.runs.models import Run
from apps.runs.services import EntityProgress

FAILURES_PAGE_SIZE = 50


def format_duration(seconds: float | None) -> str:
    """ "1h 02m 03s" / "2m 05s" / "7s"; an em dash when unknown."""
    if seconds is None:
        return "—"
    total = max(0, int(seconds))
    hours, rest = divmod(total, 3600)
    minutes, secs = divmod(rest, 60)
    if hours:
        return f"{hours}h {minutes:02d}m {secs:02d}s"
    if minutes:
        return f"{minutes}m {secs:02d}s"
    return f"{secs}s"


def elapsed_seconds(run: Run) -> float | None:
    """Seconds the run has been working: to its end, or to now while it is live."""
    if run.started_at is None:
        return None
    end = run.finished_at or (timezone.now() if run.is_live else None)
    if end is None:
        return None
    return max(0.0, (end - run.started_at) / timedelta(seconds=1))


def _width(part: int, whole: int) -> str:
    # Rendered into a style attribute: a plain dot-decimal string, whatever the locale.
    return f"{100 * part / whole:.1f}" if whole > 0 else "0"


@dataclass(frozen=True)
class ProgressRow:
    """One entity's progress with the bar's segment widths (percent of its total)."""

    p: EntityProgress
    ok_width: str
    failed_width: str
    skipped_width: str


def _progress_rows(progress: list[EntityProgress]) -> list[ProgressRow]:
    rows = []
    for p in progress:
        # The plan's total can lag the records actually read (a store that grew meanwhile):
        # never draw a bar longer than 100%.
        whole = max(p.total, p.processed)
        rows.append(
            ProgressRow(
                p=p,
                ok_width=_width(p.ok, whole),
                failed_width=_width(p.failed, whole),
                skipped_width=_width(p.skipped, whole),
            )
        )
    return rows


def _get_run(user: Any, run_id: int, capability: str = Capability.VIEW) -> tuple[Run, str]:
    """The run and the user's role on its project; 404 for a non-member, 403 without the
    capability (decided by apps.projects.access, like every other page)."""
    run = get_object_or_404(
        Run.objects.select_related(
            "project__source_store", "project__target_store", "created_by", "parent"
        ),
        pk=run_id,
    )
    role = require(user, run.project, capability)
    return run, role


def _progress_context(run: Run, role: str) -> dict[str, Any]:
    progress = services.entity_progress(run)
    processed = sum(p.processed for p in progress)
    total = sum(p.total for p in progress)
    elapsed = elapsed_seconds(run)
    rate = processed / elapsed if elapsed else None
    return {
        "run": run,
        "rows": _progress_rows(progress),
        "processed": processed,
        "total": total,
        "failed_total": sum(p.failed for p in progress),
        "batches_done": sum(p.batches_done for p in progress),
        "batches_total": sum(p.batches_total for p in progress),
        "duration": format_duration(elapsed),
        "records_per_second": f"{rate:.1f}" if rate is not None else None,
        "can_start": role_allows(role, Capability.START_RUN),
    }


def _failures_page(run: Run, request: HttpRequest) -> dict[str, Any]:
    """One page of the run's failed records: keyset on id (newest first), so a deep page costs
    the same as the first."""
    entity = request.GET.get("entity", "").strip()
    queryset = services.failures(run).only(
        "id", "entity", "source_id", "natural_key", "reason", "run_id"
    )
    if entity:
        queryset = queryset.filter(entity=entity)
    before = request.GET.get("before", "")
    if before.isdigit():
        queryset = queryset.filter(id__lt=int(before))
    rows = list(queryset[: FAILURES_PAGE_SIZE + 1])
    has_next = len(rows) > FAILURES_PAGE_SIZE
    rows = rows[:FAILURES_PAGE_SIZE]
    return {
        "failures": rows,
        "failures_entity": entity,
        "failures_next": rows[-1].id if has_next else None,
        "failures_paged": before.isdigit(),
    }


@login_required
@require_GET
def run_detail(request: HttpRequest, pk: int) -> HttpResponse:
    run, role = _get_run(request.user, pk)
    context = _progress_context(run, role)
    context.update(_failures_page(run, request))
    context["entities"] = [row.p.entity for row in context["rows"]]
    return render(request, "runs/detail.html", context)


@login_required
@require_GET
def run_progress(request: HttpRequest, pk: int) -> HttpResponse:
    run, role = _get_run(request.user, pk)
    status = 200 if run.is_live else HTMX_STOP_POLLING
    return render(request, "runs/htmx/progress.html", _progress_context(run, role), status=status)


@login_required
@require_POST
def run_cancel(request: HttpRequest, pk: int) -> HttpResponse:
    run, _ = _get_run(request.user, pk, Capability.START_RUN)
    try:
        services.cancel_run(run, user=request.user, request=request)
    except Conflict as exc:
        messages.error(request, str(exc))
    else:
        messages.success(request, f"Run #{run.pk} cancelled.")
    return redirect("runs:detail", pk=run.pk)
