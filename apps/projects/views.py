"""Dashboard pages for projects: the list (with "New project"), one project's page, starting a
full run (with an admin's budget override), the admin's settings and adding members. Views are
thin: access through apps.projects.access, changes through the services."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import OuterRef, Subquery, Sum
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_http_methods, require_POST

from apps.core.errors import Conflict
from apps.core.roles import Capability, Role, role_allows
from apps.projects import services
from apps.projects.access import get_project, role_of, visible_projects, visible_stores
from apps.projects.forms import AddMemberForm, NewProjectForm, ProjectSettingsForm
from apps.projects.models import Membership, Project
from apps.runs import points
from apps.runs import services as run_services
from apps.runs.choices import TERMINAL_STATUSES, RunKind, RunStatus
from apps.runs.models import Run
from apps.runs.views import elapsed_seconds, format_duration
from apps.stores.forms import add_service_errors

RUNS_PAGE_SIZE = 20
ROLE_LABELS = dict(Role.choices)
STATUS_LABELS = dict(RunStatus.choices)


@login_required
@require_http_methods(["GET", "POST"])
def project_list(request: HttpRequest) -> HttpResponse:
    user = request.user
    stores = visible_stores(user)
    form = NewProjectForm(request.POST if request.method == "POST" else None, stores=stores)
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


def _detail_context(
    request: HttpRequest,
    project: Project,
    role: str,
    *,
    member_form: AddMemberForm | None = None,
    settings_form: ProjectSettingsForm | None = None,
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
    live_run = (
        Run.objects.filter(project=project)
        .exclude(status__in=[s.value for s in TERMINAL_STATUSES])
        .only("id", "status", "project_id")
        .first()
    )
    can_manage = role_allows(role, Capability.MANAGE)
    has_budget = project.points_budget is not None
    return {
        "project": project,
        "role": role,
        "role_label": ROLE_LABELS.get(role, role),
        "can_start": role_allows(role, Capability.START_RUN),
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
    project = get_project(request.user, pk)
    role = role_of(request.user, project)
    return render(request, "projects/detail.html", _detail_context(request, project, role))


@login_required
@require_POST
def project_start_run(request: HttpRequest, pk: int) -> HttpResponse:
    project = get_project(request.user, pk, Capability.START_RUN)
    role = role_of(request.user, project)
    override = request.POST.get("override_budget") in ("on", "true", "1")
    if override and not role_allows(role, Capability.MANAGE):
        raise PermissionDenied("Only a project admin can start a run past the points budget.")
    try:
        run = run_services.start_run(
            project,
            kind=RunKind.FULL,
            user=request.user,
            request=request,
            override_budget=override,
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
        messages.success(request, f"Run #{run.pk} queued: a full migration of {project.name}.")
        return redirect("runs:detail", pk=run.pk)
    return redirect("projects:detail", pk=project.pk)


@login_required
@require_POST
def project_add_member(request: HttpRequest, pk: int) -> HttpResponse:
    project = get_project(request.user, pk, Capability.MANAGE)
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
    role = role_of(request.user, project)
    context = _detail_context(request, project, role, member_form=form)
    return render(request, "projects/detail.html", context, status=400)


@login_required
@require_POST
def project_settings(request: HttpRequest, pk: int) -> HttpResponse:
    project = get_project(request.user, pk, Capability.MANAGE)
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
    role = role_of(request.user, project)
    context = _detail_context(request, project, role, settings_form=form)
    return render(request, "projects/detail.html", context, status=400)
