"""Dashboard pages of the review queue: the queue of one project (filters, counts per entity,
keyset pages, bulk resolve with a preview count), one conflict side by side, and the actions.

Merchandisers and admins resolve; project managers see the same pages without the forms;
anyone else gets 404 (apps.projects.access). The conflict panel is one partial: the page
includes it, and an HTMX resolve / dismiss answers with the *next* open conflict's panel, so a
person clears the queue without leaving the page. Without JavaScript the same forms post and
redirect.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any
from urllib.parse import urlencode

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.db.models import Count, OuterRef, Subquery
from django.db.models.functions import Coalesce
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from apps.conflicts import services
from apps.conflicts.choices import ConflictKind, ConflictStatus
from apps.conflicts.forms import (
    AGE_CHOICES,
    BulkForm,
    DeleteActionForm,
    DismissForm,
    QueueFilterForm,
    ResolveForm,
)
from apps.conflicts.models import Conflict
from apps.core.errors import Conflict as StateConflict
from apps.core.roles import Capability, role_allows
from apps.projects.access import require, visible_projects
from apps.projects.models import Project

PAGE_SIZE = 50
# Longer filter values cannot name an entity or a field.
MAX_FILTER_CHARS = 100


def _project(user: Any, project_id: int, capability: str = Capability.VIEW) -> tuple[Project, str]:
    project = get_object_or_404(
        Project.objects.select_related("source_store", "target_store"), pk=project_id
    )
    return project, require(user, project, capability)


def _conflict(user: Any, pk: int, capability: str = Capability.VIEW) -> tuple[Conflict, str]:
    conflict = get_object_or_404(
        Conflict.objects.select_related(
            "project__source_store", "project__target_store", "resolved_by", "claimed_by", "run"
        ),
        pk=pk,
    )
    try:
        role = require(user, conflict.project, capability)
    except Http404:
        raise Http404("No such conflict.") from None
    return conflict, role


def _scope(request: HttpRequest) -> str:
    """The entity a person is working through (kept when moving to the next conflict)."""
    source = request.POST if request.method == "POST" else request.GET
    return source.get("queue_entity", "").strip()[:MAX_FILTER_CHARS]


# --- the queue ------------------------------------------------------------------------------


@login_required
@require_GET
def index(request: HttpRequest) -> HttpResponse:
    """Every project the user is a member of, with its open conflicts (the nav's entry)."""
    open_rows = Conflict.objects.filter(project=OuterRef("pk"), status=ConflictStatus.OPEN)
    projects = (
        visible_projects(request.user)
        .annotate(
            open_conflicts=Coalesce(
                Subquery(open_rows.values("project").annotate(n=Count("id")).values("n")[:1]),
                0,
            )
        )
        .order_by("-open_conflicts", "name", "id")
    )
    return render(request, "conflicts/index.html", {"projects": projects})


@login_required
@require_GET
def queue(request: HttpRequest, project_id: int) -> HttpResponse:
    project, role = _project(request.user, project_id)
    filters = QueueFilterForm(request.GET)
    filters.is_valid()
    data = filters.cleaned_data if filters.is_bound else {}
    entity = (data.get("entity") or "").strip()
    field_name = (data.get("field") or "").strip()
    age = data.get("age") or ""
    queryset = (
        services.open_conflicts(
            project, entity=entity, field=field_name, older_than=services.parse_age(age)
        )
        # The record versions are large and the list shows none of them.
        .defer("base", "source", "source_resolved", "target", "merged", "resolution")
        .select_related("claimed_by")
        .order_by("id")
    )
    after = request.GET.get("after", "")
    if after.isdigit() and len(after) < 19:
        queryset = queryset.filter(id__gt=int(after))
    else:
        after = ""
    rows = list(queryset[: PAGE_SIZE + 1])
    has_next = len(rows) > PAGE_SIZE
    rows = rows[:PAGE_SIZE]
    counts = services.entity_counts(project)
    current = {k: v for k, v in (("entity", entity), ("field", field_name), ("age", age)) if v}
    can_resolve = role_allows(role, Capability.RESOLVE_CONFLICT)
    fields = services.conflicting_fields(project)
    context = {
        "project": project,
        "role": role,
        "can_resolve": can_resolve,
        "conflicts": rows,
        "counts": sorted(counts.items()),
        "total_open": sum(counts.values()),
        "entity": entity,
        "field_name": field_name,
        "age": age,
        "age_choices": AGE_CHOICES,
        "field_choices": fields,
        "filtered": bool(current),
        "query": urlencode(current),
        "next_query": urlencode({**current, "after": rows[-1].id}) if has_next and rows else None,
        "paged": bool(after),
        "bulk_form": BulkForm(
            entities=sorted(counts), fields=fields, initial={"entity": entity, "field": field_name}
        )
        if can_resolve and counts
        else None,
    }
    return render(request, "conflicts/queue.html", context)


@login_required
@require_GET
def bulk_preview(request: HttpRequest, project_id: int) -> HttpResponse:
    """How many conflicts a bulk rule would resolve (the form asks as it changes)."""
    project, _ = _project(request.user, project_id, Capability.RESOLVE_CONFLICT)
    entity = request.GET.get("entity", "").strip()[:MAX_FILTER_CHARS]
    field_name = request.GET.get("field", "").strip()[:MAX_FILTER_CHARS]
    preview = (
        services.bulk_preview(project, entity=entity, field=field_name or None) if entity else None
    )
    return render(
        request,
        "conflicts/htmx/bulk_preview.html",
        {"preview": preview, "entity": entity, "field_name": field_name},
    )


@login_required
@require_POST
def bulk_resolve(request: HttpRequest, project_id: int) -> HttpResponse:
    project, _ = _project(request.user, project_id, Capability.RESOLVE_CONFLICT)
    counts = services.entity_counts(project)
    form = BulkForm(
        request.POST, entities=sorted(counts), fields=services.conflicting_fields(project)
    )
    back = reverse("conflicts:queue", args=[project.pk])
    if not form.is_valid():
        messages.error(
            request,
            "Bulk resolve: " + " ".join(f"{k}: {' '.join(v)}" for k, v in form.errors.items()),
        )
        return redirect(back)
    data = form.cleaned_data
    try:
        result = services.bulk_resolve(
            project,
            user=request.user,
            entity=data["entity"],
            field=data["field"] or None,
            side=data["side"],
            request=request,
        )
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
        return redirect(back)
    rule = f"{data['entity']} · {data['field'] or 'every field'} ← {data['side']}"
    summary = f"Bulk resolve ({rule}): {len(result.resolved)} resolved"
    if result.failed:
        summary += f", {len(result.failed)} failed"
    if result.skipped:
        summary += f", {len(result.skipped)} left for review (other fields conflict too)"
    if result.remaining:
        summary += f", {result.remaining} remain (run it again)"
    (messages.warning if result.failed else messages.success)(request, summary + ".")
    for pk, reason in result.failed[:5]:
        messages.error(request, f"Conflict #{pk}: {reason}")
    return redirect(back)


# --- one conflict ---------------------------------------------------------------------------


def _panel_context(
    request: HttpRequest,
    conflict: Conflict,
    role: str,
    *,
    form: ResolveForm | None = None,
    dismiss_form: DismissForm | None = None,
    notice: str = "",
    notice_kind: str = "info",
) -> dict[str, Any]:
    rows = services.diff(conflict)
    can_resolve = role_allows(role, Capability.RESOLVE_CONFLICT)
    is_open = conflict.status == ConflictStatus.OPEN
    form = form or ResolveForm(conflict, rows)
    choice_of = {choice.name: choice for choice in form.rows}
    scope = _scope(request)
    following = services.next_open(conflict, entity=scope or None) if is_open else None
    decided = {
        name: str(choice.get("side", ""))
        for name, choice in (conflict.resolution or {}).items()
        if isinstance(choice, dict)
    }
    return {
        "conflict": conflict,
        "project": conflict.project,
        "role": role,
        "can_resolve": can_resolve and is_open,
        "is_open": is_open,
        "is_edit": conflict.kind == ConflictKind.EDIT,
        # Each changed field with its choice inputs (open) or the side taken (resolved).
        "changed_rows": [
            (r, choice_of.get(r.field), decided.get(r.field)) for r in rows if r.changed
        ],
        "unchanged_rows": [r for r in rows if not r.changed],
        "form": form,
        "skip_to": following,
        # A delta (or a stale check) refreshed the row after it was opened.
        "refreshed_at": conflict.updated_at
        if conflict.updated_at and conflict.updated_at - conflict.created_at > timedelta(seconds=1)
        else None,
        "dismiss_form": dismiss_form or DismissForm(),
        "delete_actions": [
            (value, label)
            for value, label in DeleteActionForm.base_fields["action"].choices
            if value != services.DeleteAction.ARCHIVE or conflict.entity in services.ARCHIVE_STATUS
        ],
        "version": services.version(conflict),
        "queue_entity": scope,
        "claim_live": bool(conflict.claim_token) and is_open,
        "notice": notice,
        "notice_kind": notice_kind,
    }


@login_required
@require_GET
def detail(request: HttpRequest, pk: int) -> HttpResponse:
    conflict, role = _conflict(request.user, pk)
    return render(request, "conflicts/detail.html", _panel_context(request, conflict, role))


def _after_close(request: HttpRequest, conflict: Conflict, role: str, done: str) -> HttpResponse:
    """HTMX: the next open conflict's panel (or "queue clear"); otherwise a redirect to it."""
    scope = _scope(request)
    following = services.next_open(conflict, entity=scope or None)
    if following is not None:
        following = Conflict.objects.select_related(
            "project__source_store", "project__target_store", "resolved_by", "claimed_by", "run"
        ).get(pk=following.pk)
    if not request.htmx:
        messages.success(request, done)
        if following is None:
            return redirect("conflicts:queue", project_id=conflict.project_id)
        url = reverse("conflicts:detail", args=[following.pk])
        return redirect(f"{url}?{urlencode({'queue_entity': scope})}" if scope else url)
    if following is None:
        response = render(
            request,
            "conflicts/htmx/clear.html",
            {"project": conflict.project, "notice": done, "queue_entity": scope},
        )
        response["HX-Push-Url"] = reverse("conflicts:queue", args=[conflict.project_id])
        return response
    context = _panel_context(request, following, role, notice=done, notice_kind="success")
    response = render(request, "conflicts/htmx/panel.html", context)
    response["HX-Push-Url"] = reverse("conflicts:detail", args=[following.pk])
    return response


def _panel_error(
    request: HttpRequest,
    conflict: Conflict,
    role: str,
    message: str,
    status: int,
    **extra: Any,
) -> HttpResponse:
    context = _panel_context(request, conflict, role, notice=message, notice_kind="error", **extra)
    # htmx swaps only 2xx answers: an error panel sent to it must be a 200 to be shown.
    template = "conflicts/htmx/panel.html" if request.htmx else "conflicts/detail.html"
    return render(request, template, context, status=200 if request.htmx else status)


@login_required
@require_POST
def resolve(request: HttpRequest, pk: int) -> HttpResponse:
    conflict, role = _conflict(request.user, pk, Capability.RESOLVE_CONFLICT)
    form = ResolveForm(conflict, services.diff(conflict), request.POST)
    try:
        services.resolve(
            conflict,
            user=request.user,
            choices=form.choices(),
            request=request,
            seen_version=request.POST.get("version") or None,
        )
    except ValidationError as exc:
        form.add_errors(exc)
        message = "Nothing was written: " + " ".join(exc.messages)
        return _panel_error(request, conflict, role, message, 400, form=form)
    except (services.StaleTarget, services.ConflictChanged) as exc:
        conflict.refresh_from_db()
        return _panel_error(request, conflict, role, str(exc), 409)
    except StateConflict as exc:
        conflict.refresh_from_db()
        return _panel_error(request, conflict, role, str(exc), 409, form=form)
    except services.TargetUnavailable as exc:
        return _panel_error(request, conflict, role, f"{exc} Try again.", 503, form=form)
    done = f"Resolved {conflict.entity} {conflict.natural_key or conflict.source_id}."
    return _after_close(request, conflict, role, done)


@login_required
@require_POST
def resolve_delete(request: HttpRequest, pk: int) -> HttpResponse:
    conflict, role = _conflict(request.user, pk, Capability.RESOLVE_CONFLICT)
    form = DeleteActionForm(request.POST)
    if not form.is_valid():
        return _panel_error(request, conflict, role, "Choose delete, keep or archive.", 400)
    action = form.cleaned_data["action"]
    try:
        services.resolve_delete(conflict, user=request.user, action=action, request=request)
    except ValidationError as exc:
        return _panel_error(request, conflict, role, " ".join(exc.messages), 400)
    except StateConflict as exc:
        conflict.refresh_from_db()
        return _panel_error(request, conflict, role, str(exc), 409)
    except services.TargetUnavailable as exc:
        return _panel_error(request, conflict, role, f"{exc} Try again.", 503)
    label = {"delete": "deleted on the target", "keep": "kept", "archive": "archived"}[action]
    done = f"{conflict.entity.capitalize()} {conflict.natural_key or conflict.source_id} {label}."
    return _after_close(request, conflict, role, done)


@login_required
@require_http_methods(["POST"])
def dismiss(request: HttpRequest, pk: int) -> HttpResponse:
    conflict, role = _conflict(request.user, pk, Capability.RESOLVE_CONFLICT)
    form = DismissForm(request.POST)
    if not form.is_valid():
        return _panel_error(
            request, conflict, role, "Say why the conflict is dismissed.", 400, dismiss_form=form
        )
    try:
        services.dismiss(conflict, request.user, form.cleaned_data["reason"], request=request)
    except ValidationError as exc:
        return _panel_error(request, conflict, role, " ".join(exc.messages), 400)
    except StateConflict as exc:
        conflict.refresh_from_db()
        return _panel_error(request, conflict, role, str(exc), 409)
    done = f"Dismissed {conflict.entity} {conflict.natural_key or conflict.source_id}."
    return _after_close(request, conflict, role, done)
