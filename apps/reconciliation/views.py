"""Dashboard pages of reconciliation: a project's latest report (or one by id) with a chart and
the equation per entity and the tables of items, the CSV download, starting a verify run, and
the important-records list. Every page gets its project through apps.projects.access
(non-member 404, role without the capability 403); the logic is in services."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import Http404, HttpRequest, HttpResponse, StreamingHttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from apps.core.errors import Conflict
from apps.core.roles import Capability
from apps.projects.access import can, get_project
from apps.reconciliation import services
from apps.reconciliation.choices import ItemKind
from apps.reconciliation.models import ImportantRecord, ReconciliationReport
from apps.runs.choices import RunKind
from apps.runs.services import start_run
from apps.stores.connectors.canonical import ENTITIES

# Items per table and page: each table pages by keyset on id (?items=<kind>&after=<id>); the
# CSV and the API have them all.
TABLE_PAGE_SIZE = 25
CHART_WIDTH, BAR_HEIGHT = 600, 18
# (count attribute, label, colour) in the order the bars stack.
SOURCE_PARTS = (
    ("matched", "matched", "#22c55e"),
    ("mismatched", "mismatched", "#f59e0b"),
    ("failed", "failed", "#ef4444"),
    ("excluded", "excluded", "#94a3b8"),
    ("missing", "missing", "#7f1d1d"),
)
TARGET_PARTS = (("present", "mapped", "#3b82f6"), ("orphans", "orphans", "#a855f7"))


class ImportantRecordForm(forms.Form):
    entity = forms.ChoiceField(choices=[(e, e.capitalize()) for e in ENTITIES])
    natural_key = forms.CharField(
        max_length=255, help_text="SKU, email, order reference, category path, brand or slug."
    )
    note = forms.CharField(max_length=255, required=False)


def _bars(row: Any, parts: tuple[tuple[str, str, str], ...], scale: int, y: int) -> list[dict]:
    bars, x = [], 0.0
    for attr, label, colour in parts:
        value = getattr(row, attr)
        width = CHART_WIDTH * value / scale if scale else 0
        if value:
            bars.append(
                {
                    "x": round(x, 1),
                    "y": y,
                    "width": round(max(width, 1), 1),
                    "label": label,
                    "value": value,
                    "colour": colour,
                }
            )
        x += width
    return bars


def entity_chart(row: Any) -> dict[str, Any]:
    """Two stacked bars on one scale: the source (matched, mismatched, failed, excluded,
    missing) and the target (mapped records present, orphans)."""
    scale = max(row.source_count, row.target_count, 1)
    return {
        "width": CHART_WIDTH,
        "height": BAR_HEIGHT * 2 + 12,
        "source": _bars(row, SOURCE_PARTS, scale, 2),
        "target": _bars(row, TARGET_PARTS, scale, BAR_HEIGHT + 8),
        "bar_height": BAR_HEIGHT,
        "legend": [(label, colour) for _, label, colour in SOURCE_PARTS + TARGET_PARTS],
    }


def _report_for(user: Any, pk: int) -> tuple[ReconciliationReport, Any]:
    report = ReconciliationReport.objects.select_related("run").filter(pk=pk).first()
    if report is None:
        raise Http404("No such report.")
    return report, get_project(user, report.project_id)


def _item_table(
    report: ReconciliationReport, kind: str, total: int, after: int | None
) -> dict[str, Any]:
    """One kind's table: TABLE_PAGE_SIZE items after `after` (the start when None)."""
    items = report.items.filter(kind=kind).order_by("id")
    if after is not None:
        items = items.filter(id__gt=after)
    rows = list(items[: TABLE_PAGE_SIZE + 1]) if total else []
    has_next = len(rows) > TABLE_PAGE_SIZE
    rows = rows[:TABLE_PAGE_SIZE]
    return {
        "items": rows,
        "total": total,
        "paged": after is not None,
        "next": urlencode({"items": kind, "after": rows[-1].pk}) if has_next else None,
    }


def _paging(request: HttpRequest) -> tuple[str, int | None]:
    """The table being paged and the id it continues after; ("", None) for first pages."""
    kind, after = request.GET.get("items", ""), request.GET.get("after", "")
    if kind in ItemKind.values and after.isdigit() and len(after) < 19:
        return kind, int(after)
    return "", None


def _render_report(
    request: HttpRequest, project: Any, report: ReconciliationReport | None
) -> HttpResponse:
    context: dict[str, Any] = {
        "project": project,
        "report": report,
        "recent": services.reports(project)[:10],
        "can_start": can(request.user, project, Capability.START_RUN),
        "can_manage": can(request.user, project, Capability.MANAGE),
        "important_count": project.important_records.count(),
    }
    if report is not None:
        rows = list(report.entities.all())
        context["rows"] = [{"row": row, "chart": entity_chart(row)} for row in rows]
        context["summary"] = report.summary()
        paged_kind, after = _paging(request)
        counts = services.item_counts(report)
        context["tables"] = {
            kind: _item_table(report, kind, total, after if kind == paged_kind else None)
            for kind, total in counts.items()
        }
        context["table_page_size"] = TABLE_PAGE_SIZE
    return render(request, "reconciliation/report.html", context)


@login_required
@require_GET
def project_report(request: HttpRequest, project_id: int) -> HttpResponse:
    """The latest finished report, or the newest one being built when none has finished."""
    project = get_project(request.user, project_id)
    report = services.latest_report(project) or services.reports(project).first()
    return _render_report(request, project, report)


@login_required
@require_GET
def report_detail(request: HttpRequest, pk: int) -> HttpResponse:
    report, project = _report_for(request.user, pk)
    return _render_report(request, project, report)


@login_required
@require_GET
def report_csv(request: HttpRequest, pk: int) -> StreamingHttpResponse:
    report, _ = _report_for(request.user, pk)
    response = StreamingHttpResponse(services.csv_lines(report), content_type="text/csv")
    response["Content-Disposition"] = (
        f'attachment; filename="reconciliation-{report.project_id}-run-{report.run_id}.csv"'
    )
    return response


@login_required
@require_POST
def start_verify(request: HttpRequest, project_id: int) -> HttpResponse:
    project = get_project(request.user, project_id, Capability.START_RUN)
    try:
        run = start_run(project, kind=RunKind.VERIFY, user=request.user, request=request)
    except (Conflict, ValidationError) as exc:
        text = "; ".join(exc.messages) if isinstance(exc, ValidationError) else str(exc)
        messages.error(request, text)
        return redirect("reconciliation:project", project.pk)
    messages.success(request, f"Verify run #{run.pk} started.")
    return redirect("runs:detail", run.pk)


@login_required
@require_http_methods(["GET", "POST"])
def important_records(request: HttpRequest, project_id: int) -> HttpResponse:
    project = get_project(request.user, project_id)
    can_manage = can(request.user, project, Capability.MANAGE)
    form = ImportantRecordForm(request.POST or None)
    status = 200
    if request.method == "POST":
        get_project(request.user, project_id, Capability.MANAGE)
        if form.is_valid():
            try:
                services.add_important_record(
                    project, user=request.user, request=request, **form.cleaned_data
                )
            except ValidationError as exc:
                for name, errors in exc.message_dict.items():
                    form.add_error(name if name in form.fields else None, errors)
            else:
                messages.success(request, "Added to the spot-check list.")
                return redirect("reconciliation:important", project.pk)
        status = 400
    records = ImportantRecord.objects.filter(project=project).select_related("created_by")
    context = {"project": project, "records": records, "form": form, "can_manage": can_manage}
    return render(request, "reconciliation/important.html", context, status=status)


@login_required
@require_POST
def important_remove(request: HttpRequest, project_id: int, pk: int) -> HttpResponse:
    project = get_project(request.user, project_id, Capability.MANAGE)
    record = ImportantRecord.objects.filter(project=project, pk=pk).first()
    if record is None:
        raise Http404("No such important record.")
    services.remove_important_record(record, user=request.user, request=request)
    messages.success(request, f"Removed {record.entity} {record.natural_key} from the list.")
    return redirect("reconciliation:important", project.pk)
