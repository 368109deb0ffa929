"""Dashboard pages for projects: the list (with "New project"), one project's page, starting a
run — full, delta (optionally a final sweep with deletes) or a dry run that plans one — with an
admin's budget override, the lag behind the source, schedules (admins manage, managers see),
the admin's settings and adding members. Views are thin: access through apps.projects.access,
changes through the services."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import OuterRef, Subquery, Sum
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from apps.core.errors import Conflict
from apps.core.roles import Capability, Role, role_allows
from apps.projects import services
from apps.projects.access import (
    can_manage_store,
    get_project,
    require,
    visible_projects,
    visible_stores,
)
from apps.projects.forms import AddMemberForm, NewProjectForm, ProjectSettingsForm
from apps.projects.models import Membership, Project
from apps.runs import lag as run_lag
from apps.runs import points, schedules
from apps.runs import services as run_services
from apps.runs.choices import TERMINAL_STATUSES, RunKind, RunStatus
from apps.runs.forms import CutoverForm, ScheduleForm
from apps.runs.models import Run, Schedule
from apps.runs.views import elapsed_seconds, format_duration
from apps.stores.forms import add_service_errors

RUNS_PAGE_SIZE = 20
ROLE_LABELS = dict(Role.choices)
STATUS_LABELS = dict(RunStatus.choices)


def _refuse_borrowed_stores(user: Any, form: NewProjectForm) -> None:
    # Whoever creates a project becomes its admin, and a project admin may edit the stores the
    # project uses: a member who can merely see a store must not make a project around it (as
    # the API's ProjectSerializer refuses too).
    for field in ("source_store", "target_store"):
        if not can_manage_store(user, form.cleaned_data[field]):
            form.add_error(
                field,
                "Only the store's creator or an admin of a project using it may use it in a "
                "new project.",
            )


@login_required
@require_http_methods(["GET", "POST"])
def project_list(request: HttpRequest) -> HttpResponse:
    user = request.user
    stores = visible_stores(user)
    form = NewProjectForm(request.POST if request.method == "POST" else None, stores=stores)
    if request.method == "POST" and form.is_valid():
        _refuse_borrowed_stores(user, form)
    if request.method == "POST" and form.is_valid():
        try:
            project = services.create_project(
                user=user,
                request=request,
                name=form.cleaned_data["name"],
                source_store=form.cleaned_data["source_store"],
                target_store=form.cleaned_data["target_store"],
            )
        except ValidationError as exc:
            add_service_errors(form, exc)
        else:
            messages.success(request, f"Project “{project.name}” created; you are its admin.")
            return redirect("projects:detail", pk=project.pk)

    latest_run = Run.objects.filter(project=OuterRef("pk")).order_by("-created_at", "-id")
    projects = list(
        visible_projects(user)
        .select_related("source_store", "target_store")
        # One query for the whole list: role and last run come from correlated subqueries.
        .annotate(
            my_role=Subquery(
                Membership.objects.filter(project=OuterRef("pk"), user=user).values("role")[:1]
            ),
            last_run_id=Subquery(latest_run.values("id")[:1]),
            last_run_status=Subquery(latest_run.values("status")[:1]),
        )
        .order_by("name", "id")
    )
    for project in projects:
        project.role_label = ROLE_LABELS.get(project.my_role, project.my_role)
        project.last_run_label = STATUS_LABELS.get(project.last_run_status, "")
    status = 400 if request.method == "POST" else 200
    return render(
        request,
        "projects/list.html",
        {"projects": projects, "form": form, "has_stores": stores.exists()},
        status=status,
    )


def _project_and_role(user: Any, pk: int, capability: str = Capability.VIEW) -> tuple[Project, str]:
    """The project and the user's role on it in one membership query (the page's query
    budget is tight); 404 for a non-member, 403 without the capability."""
    project = get_object_or_404(
        Project.objects.select_related("source_store", "target_store"), pk=pk
    )
    return project, require(user, project, capability)


def _schedule_rows(project: Project) -> list[Schedule]:
    rows = list(schedules.project_schedules(project))
    for schedule in rows:
        schedule.when = schedules.when(schedule)
        schedule.next_at = schedules.next_fire_at(schedule)
    return rows


def _lag_context(project: Project) -> dict[str, Any]:
    """The lag if it is cached (the page then shows it at once); otherwise the page loads it
    from projects:lag after rendering, so a slow source never holds the page."""
    lag = run_lag.cached(project)
    return {"lag": lag, "lag_rows": _lag_rows(lag) if lag else []}


def _lag_rows(lag: run_lag.ProjectLag) -> list[dict[str, Any]]:
    now = timezone.now()
    return [{"e": row, "age": run_lag.format_age(row.age_seconds(now))} for row in lag.entities]


def _detail_context(
    request: HttpRequest,
    project: Project,
    role: str,
    *,
    member_form: AddMemberForm | None = None,
    settings_form: ProjectSettingsForm | None = None,
    schedule_form: ScheduleForm | None = None,
    cutover_form: CutoverForm | None = None,
    budget_error: str = "",
) -> dict[str, Any]:
    runs_qs = (
        Run.objects.filter(project=project)
        .select_related("created_by")
        .annotate(processed=Sum("batches__read"), failed_records=Sum("batches__failed"))
        # Keyset pagination on id: ids grow with creation, and a deep page stays cheap.
        .order_by("-id")
    )
    before = request.GET.get("before", "")
    if before.isdigit():
        runs_qs = runs_qs.filter(id__lt=int(before))
    runs = list(runs_qs[: RUNS_PAGE_SIZE + 1])
    has_older = len(runs) > RUNS_PAGE_SIZE
    runs = runs[:RUNS_PAGE_SIZE]
    for run in runs:
        run.duration = format_duration(elapsed_seconds(run))
    if not before.isdigit():
        # One live run per project, so no run is newer than a live one: on the first page
        # the live run, if any, is the newest row already read.
        live_run = runs[0] if runs and runs[0].is_live else None
    else:
        live_run = (
            Run.objects.filter(project=project)
            .exclude(status__in=[s.value for s in TERMINAL_STATUSES])
            .only("id", "status", "project_id")
            .first()
        )
    can_manage = role_allows(role, Capability.MANAGE)
    can_start = role_allows(role, Capability.START_RUN)
    has_budget = project.points_budget is not None
    return {
        **_lag_context(project),
        "project": project,
        "role": role,
        "role_label": ROLE_LABELS.get(role, role),
        "can_start": can_start,
        # Schedules: admins manage them, project managers see them.
        "schedules": _schedule_rows(project) if can_start else None,
        "schedule_form": (schedule_form or ScheduleForm()) if can_manage else None,
        "cutover_form": (cutover_form or CutoverForm()) if can_manage else None,
        "can_manage": can_manage,
        "can_override": can_manage and has_budget,
        "points_spent": points.spent(project) if has_budget else None,
        "budget_error": budget_error,
        "settings_form": (settings_form or ProjectSettingsForm(project=project))
        if can_manage
        else None,
        "members": project.memberships.select_related("user").order_by("user__username"),
        "runs": runs,
        "runs_older": runs[-1].id if has_older else None,
        "runs_paged": before.isdigit(),
        "live_run": live_run,
        "member_form": (member_form or AddMemberForm()) if can_manage else None,
    }


@login_required
@require_http_methods(["GET"])
def project_detail(request: HttpRequest, pk: int) -> HttpResponse:
    project, role = _project_and_role(request.user, pk)
    return render(request, "projects/detail.html", _detail_context(request, project, role))


@login_required
@require_GET
def project_lag(request: HttpRequest, pk: int) -> HttpResponse:
    """The lag section (loaded by the page after it renders; cached briefly, and it shows
    "source unreachable" rather than failing when the source does not answer)."""
    project = get_project(request.user, pk)
    lag = run_lag.project_lag(project)
    context = {"project": project, "lag": lag, "lag_rows": _lag_rows(lag)}
    return render(request, "projects/htmx/lag.html", context)


# What the start buttons may ask for: (kind, options).
_START_CHOICES: dict[str, tuple[str, dict[str, Any]]] = {
    "full": (RunKind.FULL, {}),
    "delta": (RunKind.DELTA, {}),
    "plan_delta": (RunKind.DRY_RUN, {"of": RunKind.DELTA}),
    "plan_full": (RunKind.DRY_RUN, {"of": RunKind.FULL}),
}
_STARTED = {
    "full": "a full migration",
    "delta": "a delta sync",
    "plan_delta": "a dry run planning a delta",
    "plan_full": "a dry run planning a full run",
}


@login_required
@require_POST
def project_start_run(request: HttpRequest, pk: int) -> HttpResponse:
    """Start a run from the project page: `start` = full (the default), delta, plan_delta or
    plan_full; `deletes` for a delta (or its plan) that also looks for deletes."""
    project, role = _project_and_role(request.user, pk, Capability.START_RUN)
    override = request.POST.get("override_budget") in ("on", "true", "1")
    if override and not role_allows(role, Capability.MANAGE):
        raise PermissionDenied("Only a project admin can start a run past the points budget.")
    choice = request.POST.get("start", "full")
    if choice not in _START_CHOICES:
        messages.error(request, "Unknown kind of run.")
        return redirect("projects:detail", pk=project.pk)
    kind, options = _START_CHOICES[choice]
    if request.POST.get("deletes") in ("on", "true", "1"):
        options = {**options, "deletes": True}
    try:
        run = run_services.start_run(
            project,
            kind=kind,
            user=request.user,
            request=request,
            override_budget=override,
            options=options or None,
        )
    except run_services.BudgetExceeded as exc:
        # Shown on the page next to the start button (with the override for admins), not as
        # a passing message: the numbers are what the user needs to decide.
        context = _detail_context(request, project, role, budget_error=str(exc))
        return render(request, "projects/detail.html", context, status=409)
    except Conflict as exc:
        messages.error(request, str(exc))
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
    else:
        what = _STARTED[choice] + (", also looking for deletes" if options.get("deletes") else "")
        messages.success(request, f"Run #{run.pk} queued: {what} of {project.name}.")
        return redirect("runs:detail", pk=run.pk)
    return redirect("projects:detail", pk=project.pk)


# --- schedules (admins) -----------------------------------------------------------------------


def _schedules_anchor(project: Project) -> str:
    return reverse("projects:detail", args=[project.pk]) + "#schedules"


@login_required
@require_POST
def project_schedule_create(request: HttpRequest, pk: int) -> HttpResponse:
    project, role = _project_and_role(request.user, pk, Capability.MANAGE)
    form = ScheduleForm(request.POST)
    if form.is_valid():
        try:
            schedule = schedules.create_schedule(
                project, user=request.user, request=request, **form.schedule_kwargs()
            )
        except ValidationError as exc:
            add_service_errors(form, exc)
        else:
            messages.success(
                request, f"Schedule “{schedule.name}” saved: {schedules.when(schedule)}."
            )
            return redirect(_schedules_anchor(project))
    context = _detail_context(request, project, role, schedule_form=form)
    return render(request, "projects/detail.html", context, status=400)


@login_required
@require_POST
def project_schedule_cutover(request: HttpRequest, pk: int) -> HttpResponse:
    """The follow-up deltas of a go-live (24 hours after, a week after, a final sweep)."""
    project, role = _project_and_role(request.user, pk, Capability.MANAGE)
    form = CutoverForm(request.POST)
    if form.is_valid():
        try:
            made = schedules.create_schedules(
                project, form.plans(), user=request.user, request=request
            )
        except ValidationError as exc:
            add_service_errors(form, exc)
        else:
            names = ", ".join(f"“{s.name}”" for s in made)
            messages.success(request, f"Scheduled {names}.")
            return redirect(_schedules_anchor(project))
    context = _detail_context(request, project, role, cutover_form=form)
    return render(request, "projects/detail.html", context, status=400)


def _schedule_of(request: HttpRequest, pk: int, schedule_id: int) -> Schedule:
    project = get_project(request.user, pk, Capability.MANAGE)
    return get_object_or_404(
        Schedule.objects.select_related("project"), pk=schedule_id, project=project
    )


@login_required
@require_POST
def project_schedule_toggle(request: HttpRequest, pk: int, schedule_id: int) -> HttpResponse:
    schedule = _schedule_of(request, pk, schedule_id)
    enable = request.POST.get("enabled") in ("on", "true", "1")
    try:
        schedules.set_enabled(schedule, enable, user=request.user, request=request)
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
    else:
        state = "enabled" if enable else "disabled"
        messages.success(request, f"Schedule “{schedule.name}” {state}.")
    return redirect(_schedules_anchor(schedule.project))


@login_required
@require_POST
def project_schedule_delete(request: HttpRequest, pk: int, schedule_id: int) -> HttpResponse:
    schedule = _schedule_of(request, pk, schedule_id)
    project, name = schedule.project, schedule.name
    schedules.delete_schedule(schedule, user=request.user, request=request)
    messages.success(request, f"Schedule “{name}” deleted.")
    return redirect(_schedules_anchor(project))


@login_required
@require_POST
def project_add_member(request: HttpRequest, pk: int) -> HttpResponse:
    project, role = _project_and_role(request.user, pk, Capability.MANAGE)
    form = AddMemberForm(request.POST)
    if form.is_valid():
        member = form.cleaned_data["member"]
        try:
            services.set_member(
                project,
                user=request.user,
                member=member,
                role=form.cleaned_data["role"],
                request=request,
            )
        except ValidationError as exc:
            add_service_errors(form, exc)
        else:
            label = ROLE_LABELS.get(form.cleaned_data["role"], form.cleaned_data["role"])
            messages.success(request, f"{member.get_username()} is now {label}.")
            return redirect(reverse("projects:detail", args=[project.pk]) + "#members")
    context = _detail_context(request, project, role, member_form=form)
    return render(request, "projects/detail.html", context, status=400)


@login_required
@require_POST
def project_settings(request: HttpRequest, pk: int) -> HttpResponse:
    project, role = _project_and_role(request.user, pk, Capability.MANAGE)
    form = ProjectSettingsForm(request.POST, project=project)
    if form.is_valid():
        try:
            changes = services.update_settings(
                project, request.user, request=request, **form.settings()
            )
        except ValidationError as exc:
            add_service_errors(form, exc)
        else:
            if changes:
                labels = ", ".join(name.replace("_", " ") for name in changes)
                messages.success(request, f"Settings saved: {labels}.")
            else:
                messages.info(request, "No settings changed.")
            return redirect(reverse("projects:detail", args=[project.pk]) + "#settings")
    context = _detail_context(request, project, role, settings_form=form)
    return render(request, "projects/detail.html", context, status=400)
