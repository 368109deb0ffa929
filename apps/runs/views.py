"""Dashboard pages for one run: the run page, its live progress partial, its batches, cancel
and "retry failed records".

The progress block follows the NetBox pattern: the page `{% include %}`s the same partial the
`runs:progress` view renders; while the run is live the partial polls itself, and once the run
has ended the view answers 286 so htmx stops polling even if an old element is still on screen.
Figures (throughput, ETA, stages, error groups) come from apps.runs.metrics: a fixed number of
aggregate queries per page, whatever the size of the run.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from typing import Any
from urllib.parse import urlencode

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.cache import cache
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.html import format_html_join
from django.views.decorators.http import require_GET, require_POST
from django_htmx.http import HTMX_STOP_POLLING

from apps.core.errors import Conflict
from apps.core.roles import Capability, role_allows
from apps.projects import access
from apps.runs import metrics, rehearsals, services
from apps.runs.choices import BatchStatus, RunKind, RunStatus
from apps.runs.models import EntityBatch, Run
from apps.runs.services import BudgetExceeded, EntityProgress

FAILURES_PAGE_SIZE = 50
BATCHES_PAGE_SIZE = 100
# Longer filter values cannot match an entity name or an error group key.
MAX_FILTER_CHARS = 200
# An ended run's error groups, cached per process (a late batch of a cancelled run may still
# add a failure: this long at most).
ERROR_GROUPS_CACHE_SECONDS = 300
# A live run's aggregates, shared by everyone watching it: computed at most once per this many
# seconds per process. The partial polls every 2 s, so a viewer sees figures at most a second
# older than the poll, and thirty viewers of a run cost one progress and one throughput query
# a second instead of thirty (bench/dashboard.py, docs/PERFORMANCE.md).
LIVE_FIGURES_CACHE_SECONDS = 1


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
    points: int | None = None


def _progress_rows(
    progress: list[EntityProgress], points: dict[str, int] | None = None
) -> list[ProgressRow]:
    points = points or {}
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
                points=points.get(p.entity),
            )
        )
    return rows


@dataclass(frozen=True)
class ChartBar:
    x: str
    y: str
    width: str
    height: str
    records: int
    rate: str
    start: Any


@dataclass(frozen=True)
class Chart:
    """An inline SVG bar chart's geometry, computed here so the template only places shapes."""

    width: int
    height: int
    plot_top: int
    plot_bottom: int
    bars: list[ChartBar]
    peak: int
    peak_rate: str
    bucket_seconds: int
    total: int
    start: Any
    end: Any

    @property
    def bars_svg(self) -> str:
        """The bars as SVG, escaped: the partial is polled every two seconds, and thirty bars
        through the template language cost more than the rest of the partial."""
        return format_html_join(
            "",
            '<rect class="bar" x="{}" y="{}" width="{}" height="{}" data-records="{}">'
            "<title>{}: {} records ({}/s)</title></rect>",
            (
                (b.x, b.y, b.width, b.height, b.records, f"{b.start:%H:%M:%S}", b.records, b.rate)
                for b in self.bars
            ),
        )


# SVG user units; the chart stretches to the card width (preserveAspectRatio="none").
CHART_WIDTH, CHART_HEIGHT, CHART_TOP, CHART_BOTTOM = 640, 120, 4, 119


def throughput_chart(series: metrics.Throughput | None) -> Chart | None:
    if series is None or not series.buckets:
        return None
    slot = CHART_WIDTH / len(series.buckets)
    gap = min(2.0, slot * 0.2)
    plot = CHART_BOTTOM - CHART_TOP
    peak = series.peak
    bars = []
    for index, bucket in enumerate(series.buckets):
        height = plot * bucket.records / peak if peak else 0.0
        # A bucket with records stays visible however small next to the peak.
        if bucket.records and height < 1:
            height = 1.0
        bars.append(
            ChartBar(
                x=f"{index * slot + gap / 2:.1f}",
                y=f"{CHART_BOTTOM - height:.1f}",
                width=f"{max(0.5, slot - gap):.1f}",
                height=f"{height:.1f}",
                records=bucket.records,
                rate=f"{bucket.records / series.bucket_seconds:.1f}",
                start=bucket.start,
            )
        )
    return Chart(
        width=CHART_WIDTH,
        height=CHART_HEIGHT,
        plot_top=CHART_TOP,
        plot_bottom=CHART_BOTTOM,
        bars=bars,
        peak=peak,
        peak_rate=f"{peak / series.bucket_seconds:.1f}",
        bucket_seconds=series.bucket_seconds,
        total=series.total,
        start=series.start,
        end=series.end,
    )


def _get_run(user: Any, run_id: int, capability: str = Capability.VIEW) -> tuple[Run, str]:
    """The run and the user's role on its project, in one query; 404 for a non-member, 403
    without the capability (decided by apps.projects.access, like every other page)."""
    run = get_object_or_404(
        Run.objects.select_related(
            "project__source_store", "project__target_store", "created_by", "parent"
        ).annotate(viewer_role=access.role_expression(user)),
        pk=run_id,
    )
    return run, access.check_role(run.viewer_role, capability)


def _plan_context(run: Run, role: str, progress: list[EntityProgress]) -> dict[str, Any]:
    """A dry run's plan: per entity what the rehearsed run would do, and whether it can be
    started for real from here."""
    if run.kind != RunKind.DRY_RUN:
        return {}
    rows = rehearsals.plan_rows(progress, rehearsals.points_read(run, progress))
    can_start = role_allows(role, Capability.START_RUN)
    planned = not rehearsals.refusal(run)
    return {
        "plan_rows": rows,
        "plan_totals": rehearsals.plan_totals(rows),
        "plan_of": rehearsals.describe(run),
        "plan_ready": planned,
        "plan_stale": rehearsals.stale_since(run) if planned else None,
        "can_start_for_real": planned and can_start,
        "can_override_for_real": planned
        and can_start
        and run.project.points_budget is not None
        and role_allows(role, Capability.MANAGE),
    }


def _cached_per_run(name: str, run: Run, seconds: int, compute: Callable[[Run], Any]) -> Any:
    """compute(run), kept in this process's cache for `seconds` under the run and its status
    (a change of status is a new entry); created_at tells a run from an earlier one that had
    the same id (a test database)."""
    key = f"runs:{name}:{run.pk}:{run.created_at.timestamp()}:{run.status}"
    return cache.get_or_set(key, lambda: compute(run), seconds)


def _run_figures(run: Run) -> metrics.RunFigures:
    """The run's progress, ETA and throughput. An ended run's are read afresh (its last
    partial is the one that stays on screen); a live run's come from a per-process cache of
    LIVE_FIGURES_CACHE_SECONDS, keyed by status so a change of stage is never served stale."""
    if not run.is_live:
        return metrics.figures(run)
    return _cached_per_run("live-figures", run, LIVE_FIGURES_CACHE_SECONDS, metrics.figures)


def _progress_context(run: Run, role: str) -> dict[str, Any]:
    figures = _run_figures(run)
    progress, eta = figures.progress, figures.eta
    processed = sum(p.processed for p in progress)
    total = sum(p.total for p in progress)
    elapsed = elapsed_seconds(run)
    rate = processed / elapsed if elapsed else None
    points = metrics.entity_points(run)
    return {
        **_plan_context(run, role, progress),
        "run": run,
        "rows": _progress_rows(progress, points),
        "stages": metrics.stages(run, progress),
        "chart": throughput_chart(figures.throughput),
        "eta": eta,
        "eta_label": format_duration(eta.seconds) if eta else None,
        "processed": processed,
        "total": total,
        "failed_total": sum(p.failed for p in progress),
        "batches_done": sum(p.batches_done for p in progress),
        "batches_total": sum(p.batches_total for p in progress),
        "duration": format_duration(elapsed),
        "records_per_second": f"{rate:.1f}" if rate is not None else None,
        "can_start": role_allows(role, Capability.START_RUN),
    }


def _filter_param(request: HttpRequest, name: str) -> str:
    return request.GET.get(name, "").strip()[:MAX_FILTER_CHARS]


def _error_groups(run: Run) -> metrics.ErrorGroups:
    """The run's error groups: a GROUP BY over up to ERROR_SCAN failures, the run page's
    dearest query (0.3 s for 25,000 failures, bench/dashboard.py). An ended run's failures no
    longer change, so its groups are computed once per process; a live run's are fresh."""
    if run.is_live:
        return metrics.error_groups(run)
    return _cached_per_run("error-groups", run, ERROR_GROUPS_CACHE_SECONDS, metrics.error_groups)


def _failures_page(run: Run, request: HttpRequest) -> dict[str, Any]:
    """One page of the run's failed records, filtered by entity and error group: keyset on id
    (newest first), so a deep page costs the same as the first."""
    entity = _filter_param(request, "entity")
    error = _filter_param(request, "error")
    queryset = metrics.failures(run, entity=entity, error=error).only(
        "id", "entity", "source_id", "natural_key", "reason", "run_id"
    )
    before = request.GET.get("before", "")
    if before.isdigit() and len(before) < 19:
        queryset = queryset.filter(id__lt=int(before))
    else:
        before = ""
    rows = list(queryset[: FAILURES_PAGE_SIZE + 1])
    has_next = len(rows) > FAILURES_PAGE_SIZE
    rows = rows[:FAILURES_PAGE_SIZE]
    filters = {k: v for k, v in (("entity", entity), ("error", error)) if v}
    groups = _error_groups(run)
    choices = groups.choices(entity)
    return {
        "failures": rows,
        "failures_entity": entity,
        "failures_error": error,
        "failures_filtered": bool(filters),
        "failures_query": urlencode(filters),
        "failures_next": (
            urlencode({**filters, "before": rows[-1].id}) if has_next and rows else None
        ),
        "failures_paged": bool(before),
        "error_choices": choices,
        # A key from a link or an older page that is not among today's largest groups.
        "error_unlisted": bool(error) and error not in {key for key, _, _ in choices},
        "error_groups_sampled": groups.sampled,
        "error_groups_scan": metrics.ERROR_SCAN,
    }


def _retry_context(run: Run, role: str) -> dict[str, Any]:
    can_retry = (
        run.status == RunStatus.PARTIALLY_FAILED
        and run.kind != RunKind.ROLLBACK  # a rollback is started again from the cutover plan
        and role_allows(role, Capability.START_RUN)
    )
    return {
        "can_retry": can_retry,
        # Offered only to admins, and only where there is a budget to go past.
        "can_override": can_retry
        and run.project.points_budget is not None
        and role_allows(role, Capability.MANAGE),
    }


@login_required
@require_GET
def run_detail(request: HttpRequest, pk: int) -> HttpResponse:
    run, role = _get_run(request.user, pk)
    context = _progress_context(run, role)
    context.update(_failures_page(run, request))
    context.update(_retry_context(run, role))
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


@login_required
@require_POST
def run_retry_failed(request: HttpRequest, pk: int) -> HttpResponse:
    """Start a retry_failed run of this run's failed records (START_RUN; an admin may go past
    the points budget with "override")."""
    run, role = _get_run(request.user, pk, Capability.START_RUN)
    override = request.POST.get("override_budget") in ("on", "true", "1")
    if override and not role_allows(role, Capability.MANAGE):
        raise PermissionDenied("Only a project admin can start a run past the points budget.")
    refusal = metrics.retry_refusal(run)
    if refusal:
        messages.error(request, refusal)
        return redirect("runs:detail", pk=run.pk)
    try:
        retry = services.start_run(
            run.project,
            kind=RunKind.RETRY_FAILED,
            parent=run,
            user=request.user,
            request=request,
            override_budget=override,
        )
    except BudgetExceeded as exc:
        messages.error(request, str(exc), extra_tags="budget")
    except Conflict as exc:
        messages.error(request, str(exc))
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
    else:
        messages.success(request, f"Run #{retry.pk} queued: retrying the failed records of #{pk}.")
        return redirect("runs:detail", pk=retry.pk)
    return redirect(reverse("runs:detail", args=[run.pk]) + "#failures")


@login_required
@require_POST
def run_start_for_real(request: HttpRequest, pk: int) -> HttpResponse:
    """Start the run a dry run rehearsed, with its options (START_RUN; an admin may go past the
    points budget with "override")."""
    run, role = _get_run(request.user, pk, Capability.START_RUN)
    override = request.POST.get("override_budget") in ("on", "true", "1")
    if override and not role_allows(role, Capability.MANAGE):
        raise PermissionDenied("Only a project admin can start a run past the points budget.")
    try:
        real = rehearsals.start_for_real(
            run, user=request.user, request=request, override_budget=override
        )
    except BudgetExceeded as exc:
        messages.error(request, str(exc), extra_tags="budget")
    except Conflict as exc:
        messages.error(request, str(exc))
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
    else:
        messages.success(
            request, f"Run #{real.pk} queued: {rehearsals.describe(run)}, as planned by #{pk}."
        )
        return redirect("runs:detail", pk=real.pk)
    return redirect(reverse("runs:detail", args=[run.pk]) + "#dry-run-plan")


@login_required
@require_GET
def run_batches(request: HttpRequest, pk: int) -> HttpResponse:
    """A run's batches in planned order, filtered by entity and status: keyset on id, so the
    last of 10,000 batches costs what the first does."""
    run, _ = _get_run(request.user, pk)
    entity = _filter_param(request, "entity")
    status = _filter_param(request, "status")
    if status not in BatchStatus.values:
        status = ""
    queryset = EntityBatch.objects.filter(run=run).order_by("id")
    if entity:
        queryset = queryset.filter(entity=entity)
    if status:
        queryset = queryset.filter(status=status)
    after = request.GET.get("after", "")
    if after.isdigit() and len(after) < 19:
        queryset = queryset.filter(id__gt=int(after))
    else:
        after = ""
    rows = list(queryset.defer("cursor")[: BATCHES_PAGE_SIZE + 1])
    has_next = len(rows) > BATCHES_PAGE_SIZE
    rows = rows[:BATCHES_PAGE_SIZE]
    now = timezone.now()
    for batch in rows:
        batch.duration = (
            format_duration((batch.finished_at - batch.started_at).total_seconds())
            if batch.started_at and batch.finished_at and batch.finished_at >= batch.started_at
            else "—"
        )
        batch.lease_live = bool(batch.lease_expires_at and batch.lease_expires_at > now)
    filters = {k: v for k, v in (("entity", entity), ("status", status)) if v}
    return render(
        request,
        "runs/batches.html",
        {
            "run": run,
            "batches": rows,
            "entities": run.plan.get("order") or [],
            "statuses": BatchStatus.choices,
            "batches_entity": entity,
            "batches_status": status,
            "batches_query": urlencode(filters),
            "batches_next": (
                urlencode({**filters, "after": rows[-1].id}) if has_next and rows else None
            ),
            "batches_paged": bool(after),
        },
    )
