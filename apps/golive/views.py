"""Dashboard pages of the cutover plan: the stages with their checks, evidence and approvals,
the units, a rollback action, and the notification settings.

Every view gets its project through apps.projects.access.get_project (non-member 404, role
without the capability 403). The plan's body is one partial: the page includes it, and an HTMX
approve / withdraw / edit answers with it again (other stages and the LIVE banner can change
too). Without JavaScript the same forms post and redirect; a refusal re-renders the page with
the message and a 4xx status.
"""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_GET, require_POST

from apps.core.errors import Conflict
from apps.core.roles import Capability, Role, role_allows
from apps.golive import checks, defaults, notifications, services
from apps.golive.choices import Direction, Event, Side
from apps.golive.models import (
    Check,
    CutoverUnit,
    Delivery,
    EmailRecipients,
    Gate,
    WebhookEndpoint,
)
from apps.projects.access import get_project, role_of
from apps.projects.models import Project
from apps.runs.models import Run

RECENT_RUNS = 10
RECENT_DELIVERIES = 30


def _errors(exc: ValidationError) -> str:
    if hasattr(exc, "error_dict"):
        return " ".join(f"{k}: {' '.join(v)}" for k, v in exc.message_dict.items())
    return " ".join(exc.messages)


def _gate_rows(gates: list[Gate], user: Any) -> list[dict[str, Any]]:
    rows = []
    for gate in gates:
        approvals = list(gate.approvals.all())
        active = [a for a in approvals if a.withdrawn_at is None]
        rows.append(
            {
                "gate": gate,
                "checks": [{"check": c, "spec": checks.SPECS[c.kind]} for c in gate.checks.all()],
                "active": active,
                "withdrawn": [a for a in approvals if a.withdrawn_at is not None][-5:],
                "mine": any(a.user_id == user.pk for a in active),
            }
        )
    return rows


def _unit_rows(units: list[CutoverUnit], gates: list[Gate], measurer: Any) -> list[dict]:
    rows = []
    for unit in units:
        stages = []
        for gate in gates:
            direction = unit.delta_direction.get(gate.key, Direction.NONE)
            stages.append(
                {
                    "key": gate.key,
                    "record": unit.system_of_record.get(gate.key, Side.SOURCE),
                    "direction": direction,
                    "direction_label": Direction(direction).label
                    if direction in Direction.values
                    else direction,
                    "supported": direction != Direction.TARGET_TO_SOURCE,
                }
            )
        rows.append(
            {
                "unit": unit,
                "stages": stages,
                "fired": services.fired_triggers(unit, measurer),
            }
        )
    return rows


def _rollback_rows(project: Project, plan: Any) -> list[dict[str, Any]]:
    runs = (
        Run.objects.filter(
            project=project,
            kind__in=services.ROLLBACKABLE_KINDS,
            finished_at__isnull=False,
        )
        .select_related("project")
        .order_by("-finished_at")[:RECENT_RUNS]
    )
    now = timezone.now()
    units = list(plan.units.all())
    rows = []
    for run in runs:
        window = services.rollback_window(run, units=units)
        rows.append({"run": run, "window": window, "open": window.is_open(now)})
    return rows


def _context(request: HttpRequest, project: Project, **extra: Any) -> dict[str, Any]:
    role = role_of(request.user, project) or ""
    plan = services.get_plan(project)
    # Evaluated on every load (cheap); what it withdraws is the system's doing, not the viewer's.
    evaluation = services.evaluate(plan)
    plan = evaluation.plan
    gates = services.gates_of(plan)
    units = list(plan.units.all())
    can_approve = role_allows(role, Capability.APPROVE_GATE)
    return {
        "project": project,
        "plan": plan,
        "role": role,
        "gates": _gate_rows(gates, request.user),
        "blockers": services.blockers(plan, gates),
        "units": _unit_rows(units, gates, evaluation.measurer),
        "stage_keys": [g.key for g in gates],
        "stage_names": [g.name for g in gates],
        "sides": Side.choices,
        "directions": Direction.choices,
        "can_approve": can_approve,
        "can_manage": role_allows(role, Capability.MANAGE),
        "rollbacks": _rollback_rows(project, plan) if can_approve else [],
        "go_live_key": defaults.GO_LIVE,
        **extra,
    }


def _answer(
    request: HttpRequest, project: Project, *, done: str = "", error: str = "", status: int = 200
) -> HttpResponse:
    """HTMX: the plan body with the notice; otherwise a redirect (success) or the page with
    the message and `status` (refusal)."""
    if request.htmx:
        notice = {"notice": error or done, "notice_kind": "error" if error else "success"}
        return render(request, "golive/htmx/plan_body.html", _context(request, project, **notice))
    if not error:
        messages.success(request, done)
        return redirect("golive:plan", project_id=project.pk)
    context = _context(request, project, notice=error, notice_kind="error")
    return render(request, "golive/plan.html", context, status=status)


def _call(request: HttpRequest, project: Project, done: str, action: Any) -> HttpResponse:
    try:
        action()
    except ValidationError as exc:
        return _answer(request, project, error=_errors(exc), status=400)
    except Conflict as exc:
        return _answer(request, project, error=str(exc), status=409)
    return _answer(request, project, done=done)


@login_required
@require_GET
def plan(request: HttpRequest, project_id: int) -> HttpResponse:
    project = get_project(request.user, project_id)
    return render(request, "golive/plan.html", _context(request, project))


@login_required
@require_POST
def gate_approve(request: HttpRequest, project_id: int, gate_id: int) -> HttpResponse:
    project = get_project(request.user, project_id, Capability.APPROVE_GATE)
    gate = get_object_or_404(
        Gate.objects.select_related("plan__project"), pk=gate_id, plan__project=project
    )
    return _call(
        request,
        project,
        f"You approved '{gate.name}'.",
        lambda: services.approve(gate, request.user, request=request),
    )


@login_required
@require_POST
def gate_withdraw(request: HttpRequest, project_id: int, gate_id: int) -> HttpResponse:
    project = get_project(request.user, project_id, Capability.APPROVE_GATE)
    gate = get_object_or_404(
        Gate.objects.select_related("plan__project"), pk=gate_id, plan__project=project
    )
    reason = request.POST.get("reason", "")[:500]
    return _call(
        request,
        project,
        f"You withdrew your approval of '{gate.name}'.",
        lambda: services.withdraw(gate, request.user, reason=reason, request=request),
    )


@login_required
@require_POST
def gate_edit(request: HttpRequest, project_id: int, gate_id: int) -> HttpResponse:
    project = get_project(request.user, project_id, Capability.MANAGE)
    gate = get_object_or_404(
        Gate.objects.select_related("plan__project"), pk=gate_id, plan__project=project
    )
    return _call(
        request,
        project,
        f"'{gate.name}' now needs {request.POST.get('required_approvals')} approval(s).",
        lambda: services.update_gate(
            gate,
            user=request.user,
            required_approvals=request.POST.get("required_approvals"),
            request=request,
        ),
    )


@login_required
@require_POST
def check_edit(request: HttpRequest, project_id: int, check_id: int) -> HttpResponse:
    project = get_project(request.user, project_id, Capability.MANAGE)
    check = get_object_or_404(
        Check.objects.select_related("gate__plan__project"),
        pk=check_id,
        gate__plan__project=project,
    )
    return _call(
        request,
        project,
        f"{checks.SPECS[check.kind].label} of '{check.gate.name}' updated.",
        lambda: services.update_check(
            check,
            user=request.user,
            threshold=request.POST.get("threshold"),
            enabled=request.POST.get("enabled") == "on",
            request=request,
        ),
    )


@login_required
@require_POST
def unit_edit(request: HttpRequest, project_id: int, unit_id: int) -> HttpResponse:
    project = get_project(request.user, project_id, Capability.MANAGE)
    unit = get_object_or_404(
        CutoverUnit.objects.select_related("plan__project"), pk=unit_id, plan__project=project
    )
    stage_keys = list(unit.plan.gates.values_list("key", flat=True))
    post = request.POST
    data: dict[str, Any] = {
        "system_of_record": {k: post[f"sor:{k}"] for k in stage_keys if f"sor:{k}" in post},
        "delta_direction": {k: post[f"dir:{k}"] for k in stage_keys if f"dir:{k}" in post},
        "rollback_triggers": {
            "failure_rate_above": post.get("failure_rate_above", ""),
            "mismatches_above": post.get("mismatches_above", ""),
            "manual": post.get("manual") == "on",
        },
    }
    if "rollback_window_hours" in post:
        data["rollback_window_hours"] = post["rollback_window_hours"]
    return _call(
        request,
        project,
        f"Unit '{unit.name}' updated.",
        lambda: services.update_unit(unit, user=request.user, data=data, request=request),
    )


@login_required
@require_POST
def rollback(request: HttpRequest, project_id: int) -> HttpResponse:
    project = get_project(request.user, project_id, Capability.APPROVE_GATE)
    run_id = request.POST.get("run", "")
    run = (
        Run.objects.select_related("project").filter(pk=int(run_id), project=project).first()
        if run_id.isdigit() and len(run_id) < 19
        else None
    )
    if run is None:
        return _answer(request, project, error="Choose a run of this project.", status=400)
    try:
        child = services.start_rollback(
            project,
            run,
            request.user,
            override=request.POST.get("override") == "on",
            request=request,
        )
    except ValidationError as exc:
        return _answer(request, project, error=_errors(exc), status=400)
    except Conflict as exc:
        return _answer(request, project, error=str(exc), status=409)
    messages.success(request, f"Rollback of run #{run.pk} started as run #{child.pk}.")
    url = reverse("runs:detail", args=[child.pk])
    if request.htmx:
        response = HttpResponse(status=204)
        response["HX-Redirect"] = url
        return response
    return redirect(url)


# --- notifications ---------------------------------------------------------------------------


def _notifications_context(request: HttpRequest, project: Project, **extra: Any) -> dict:
    role = role_of(request.user, project) or ""
    config = EmailRecipients.objects.filter(project=project).first()
    return {
        "project": project,
        "can_manage": role_allows(role, Capability.MANAGE),
        "endpoints": WebhookEndpoint.objects.filter(project=project),
        "deliveries": Delivery.objects.filter(project=project).select_related("endpoint")[
            :RECENT_DELIVERIES
        ],
        "email": config,
        "events": Event.choices,
        "roles": Role.choices,
        "signature_header": notifications.SIGNATURE_HEADER,
        "timestamp_header": notifications.TIMESTAMP_HEADER,
        **extra,
    }


def _notifications_answer(
    request: HttpRequest, project: Project, *, done: str = "", error: str = "", status: int = 200
) -> HttpResponse:
    if not error:
        messages.success(request, done)
        return redirect("golive:notifications", project_id=project.pk)
    context = _notifications_context(request, project, notice=error, notice_kind="error")
    return render(request, "golive/notifications.html", context, status=status)


@login_required
@require_GET
def notifications_page(request: HttpRequest, project_id: int) -> HttpResponse:
    project = get_project(request.user, project_id)
    return render(request, "golive/notifications.html", _notifications_context(request, project))


@login_required
@require_POST
def endpoint_create(request: HttpRequest, project_id: int) -> HttpResponse:
    project = get_project(request.user, project_id, Capability.MANAGE)
    try:
        notifications.create_endpoint(
            project,
            user=request.user,
            url=request.POST.get("url", ""),
            secret=request.POST.get("secret") or None,
            events=request.POST.getlist("events"),
            request=request,
        )
    except ValidationError as exc:
        return _notifications_answer(request, project, error=_errors(exc), status=400)
    return _notifications_answer(request, project, done="Webhook endpoint added.")


@login_required
@require_POST
def endpoint_delete(request: HttpRequest, project_id: int, endpoint_id: int) -> HttpResponse:
    project = get_project(request.user, project_id, Capability.MANAGE)
    endpoint = get_object_or_404(WebhookEndpoint, pk=endpoint_id, project=project)
    notifications.delete_endpoint(endpoint, user=request.user, request=request)
    return _notifications_answer(request, project, done="Webhook endpoint removed.")


@login_required
@require_POST
def email_edit(request: HttpRequest, project_id: int) -> HttpResponse:
    project = get_project(request.user, project_id, Capability.MANAGE)
    addresses = [
        a.strip() for a in request.POST.get("addresses", "").replace(",", "\n").splitlines()
    ]
    try:
        notifications.set_email_recipients(
            project,
            user=request.user,
            roles=request.POST.getlist("roles"),
            addresses=[a for a in addresses if a],
            events=request.POST.getlist("events"),
            request=request,
        )
    except ValidationError as exc:
        return _notifications_answer(request, project, error=_errors(exc), status=400)
    return _notifications_answer(request, project, done="E-mail recipients saved.")
