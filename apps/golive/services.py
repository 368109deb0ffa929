"""The cutover plan's logic: evaluating the gates, approving and withdrawing, editing thresholds,
approvals and units, and starting a rollback. Every state change is one transaction and audited
(apps.core.audit); dashboard views and API views both call these functions.

Gate order and status: a gate is `blocked` while one of its enabled checks fails, `waiting` while
the previous gate has not passed, `awaiting_approval` until it holds `required_approvals` active
approvals, then `passed`. When the "go live" gate passes, the plan is live (went_live_at); a later
regression or withdrawal does not undo that — the way back is a rollback.

Rollback window: counted from the run's `finished_at` (not from went_live_at) — a rollback replays
that run's journal backwards, and the longer the target has lived with what the run wrote (orders
placed on the new store referencing its records), the riskier the replay, whether or not the plan
is live. The run's window is the shortest of the units covering its entities.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone

from apps.core import audit
from apps.core.errors import Conflict
from apps.core.roles import Capability
from apps.golive import checks, defaults, notifications
from apps.golive.choices import Direction, Event, GateStatus, PlanState, Side
from apps.golive.models import Approval, Check, CutoverPlan, CutoverUnit, Gate
from apps.projects.access import can
from apps.projects.models import Project
from apps.runs import services as run_services
from apps.runs.choices import RunKind
from apps.runs.models import Run

# Runs whose writes a rollback can replay backwards.
ROLLBACKABLE_KINDS = (RunKind.FULL, RunKind.DELTA, RunKind.RETRY_FAILED)
MAX_APPROVALS = 10
MAX_WINDOW_HOURS = 24 * 365


# --- the plan --------------------------------------------------------------------------------


def get_plan(project: Project) -> CutoverPlan:
    """The project's plan, created with the default stages, checks and units on first access."""
    plan = CutoverPlan.objects.filter(project=project).first()
    if plan is not None:
        return plan
    try:
        with transaction.atomic():
            plan = CutoverPlan.objects.create(project=project)
            for order, (key, name, description, approvals, kinds) in enumerate(defaults.STAGES, 1):
                gate = Gate.objects.create(
                    plan=plan,
                    order=order,
                    key=key,
                    name=name,
                    description=description,
                    required_approvals=approvals,
                )
                Check.objects.bulk_create(
                    Check(gate=gate, kind=kind, threshold=threshold) for kind, threshold in kinds
                )
            CutoverUnit.objects.bulk_create(
                CutoverUnit(
                    plan=plan,
                    key=key,
                    name=name,
                    order=order,
                    entities=entities,
                    rollback_window_hours=hours,
                    **defaults.unit_defaults(after_live),
                )
                for order, (key, name, entities, hours, after_live) in enumerate(defaults.UNITS)
            )
    except IntegrityError:
        # Two first visits at once: the other one created it.
        return CutoverPlan.objects.get(project=project)
    return plan


def gates_of(plan: CutoverPlan) -> list[Gate]:
    return list(plan.gates.prefetch_related("checks", "approvals__user", "approvals__withdrawn_by"))


def active_approvals(gate: Gate) -> list[Approval]:
    return [a for a in gate.approvals.all() if a.withdrawn_at is None]


def _describe(check: Check) -> str:
    spec = checks.SPECS[check.kind]
    if check.evidence.get("available") is False or check.value is None:
        return f"{spec.label}: {check.evidence.get('summary') or checks.NOT_AVAILABLE}"
    bound = "max" if spec.direction == "max" else "min"
    text = f"{spec.label}: {check.value:g}{spec.unit and ' ' + spec.unit} vs {bound} "
    text += f"{check.threshold:g}{spec.unit and ' ' + spec.unit}"
    if check.kind in ("reconciliation", "redirect_coverage") and check.value is not None:
        summary = check.evidence.get("summary")
        if summary:
            text += f" ({summary})"
    return text


def failing_checks(gate: Gate) -> list[Check]:
    return [c for c in gate.checks.all() if c.enabled and not c.passed]


# --- evaluation ------------------------------------------------------------------------------


@dataclass
class Evaluation:
    plan: CutoverPlan
    measurer: checks.Measurer
    withdrawn: list[Approval] = field(default_factory=list)
    changed: list[tuple[Gate, str, str]] = field(default_factory=list)


def _lock(plan: CutoverPlan) -> CutoverPlan:
    return (
        CutoverPlan.objects.select_for_update(of=("self",))
        .select_related("project")
        .get(pk=plan.pk)
    )


def evaluate(
    plan: CutoverPlan,
    *,
    kinds: set[str] | None = None,
    user: Any = None,
    request: Any = None,
) -> Evaluation:
    """Run the checks (all, or only `kinds`), store their evidence, withdraw every active
    approval of a gate whose check now fails (audited), and settle the gates' statuses."""
    with transaction.atomic():
        plan = _lock(plan)
        measurer = checks.Measurer(plan.project)
        result = Evaluation(plan=plan, measurer=measurer)
        gates = gates_of(plan)
        now = timezone.now()
        for gate in gates:
            measured = []
            for check in gate.checks.all():
                if not check.enabled or (kinds is not None and check.kind not in kinds):
                    continue
                measurement = measurer(check.kind)
                check.value = measurement.value
                check.passed = checks.passes(check.kind, check.threshold, measurement)
                check.evidence = {
                    **measurement.evidence,
                    "available": measurement.available,
                    # The threshold this value was judged against (it can be edited later).
                    "threshold": check.threshold,
                }
                check.evaluated_at = now
                measured.append(check)
            Check.objects.bulk_update(measured, ["value", "passed", "evidence", "evaluated_at"])
            failing = failing_checks(gate)
            if failing:
                reason = "Check failed: " + "; ".join(_describe(c) for c in failing)
                # The system withdraws, not whoever happened to trigger the evaluation.
                result.withdrawn += _withdraw_all(gate, reason, failing)
        plan.evaluated_at = now
        plan.save(update_fields=["evaluated_at"])
        result.changed = _settle(plan, gates, user=user, request=request)
    return result


def _withdraw_all(gate: Gate, reason: str, failing: list[Check]) -> list[Approval]:
    withdrawn = []
    now = timezone.now()
    for approval in active_approvals(gate):
        approval.withdrawn_at = now
        approval.withdrawn_reason = reason[:2000]
        approval.save(update_fields=["withdrawn_at", "withdrawn_reason"])
        audit.record(
            action="gate.approval_withdrawn",
            obj=approval,
            project_id=gate.plan.project_id,
            payload={
                "gate": gate.key,
                "approver": approval.user.get_username(),
                "automatic": True,
                "reason": approval.withdrawn_reason,
                "checks": [
                    {"kind": c.kind, "value": c.value, "threshold": c.threshold} for c in failing
                ],
            },
        )
        withdrawn.append(approval)
    return withdrawn


def _settle(
    plan: CutoverPlan, gates: list[Gate], *, user: Any = None, request: Any = None
) -> list[tuple[Gate, str, str]]:
    """Recompute every gate's status in order; go live when the go-live gate passes; notify
    "gate.changed" for each gate whose status moved. Call inside the plan's transaction."""
    changed = []
    previous_passed = True
    now = timezone.now()
    for gate in gates:
        approvals = len(active_approvals(gate))
        if failing_checks(gate):
            status = GateStatus.BLOCKED
        elif not previous_passed:
            status = GateStatus.WAITING
        elif approvals < gate.required_approvals:
            status = GateStatus.AWAITING_APPROVAL
        else:
            status = GateStatus.PASSED
        previous_passed = status == GateStatus.PASSED
        if status != gate.status:
            before = gate.status
            gate.status = status
            gate.passed_at = now if status == GateStatus.PASSED else None
            gate.save(update_fields=["status", "passed_at"])
            changed.append((gate, before, status))
            notifications.notify(
                plan.project,
                Event.GATE_CHANGED,
                {
                    "gate": {"id": gate.pk, "key": gate.key, "name": gate.name},
                    "from": before,
                    "to": status,
                    "approvals": approvals,
                    "required_approvals": gate.required_approvals,
                    "failing_checks": [_describe(c) for c in failing_checks(gate)],
                },
            )
        if gate.key == defaults.GO_LIVE and status == GateStatus.PASSED and not plan.is_live:
            plan.state = PlanState.LIVE
            plan.went_live_at = now
            plan.save(update_fields=["state", "went_live_at"])
            audit.record(
                action="cutover.went_live",
                obj=plan,
                user=user,
                request=request,
                project_id=plan.project_id,
                payload={"gate": gate.key, "approvals": approvals},
            )
    return changed


def evaluate_all() -> int:
    """Every plan (beat's periodic evaluation); one plan's failure does not stop the others."""
    count = 0
    for plan in CutoverPlan.objects.select_related("project").iterator():
        evaluate(plan)
        count += 1
    return count


# --- approvals -------------------------------------------------------------------------------


def _require(user: Any, project: Project, capability: str, message: str) -> None:
    if not can(user, project, capability):
        raise PermissionDenied(message)


def approve(gate: Gate, user: Any, *, request: Any = None) -> Approval:
    """Approve a gate: admins only, with every check passing (measured now), the previous gate
    passed, and no active approval of the same user on it."""
    plan = gate.plan
    _require(user, plan.project, Capability.APPROVE_GATE, "Only a project admin can approve gates.")
    # Fresh evidence first, committed on its own: a refusal below must not undo withdrawals.
    evaluate(plan, user=user, request=request)
    with transaction.atomic():
        plan = _lock(plan)
        gates = gates_of(plan)
        gate = next(g for g in gates if g.pk == gate.pk)
        failing = failing_checks(gate)
        if failing:
            raise Conflict(
                f"'{gate.name}' cannot be approved while checks fail: "
                + "; ".join(_describe(c) for c in failing)
                + "."
            )
        earlier = [g for g in gates if g.order < gate.order]
        if earlier and earlier[-1].status != GateStatus.PASSED:
            raise Conflict(
                f"'{gate.name}' cannot be approved before '{earlier[-1].name}' has passed "
                f"({earlier[-1].get_status_display().lower()})."
            )
        mine = [a for a in active_approvals(gate) if a.user_id == user.pk]
        if mine:
            raise Conflict(
                f"You already approved '{gate.name}' at {mine[0].at:%Y-%m-%d %H:%M} UTC."
            )
        try:
            with transaction.atomic():
                approval = Approval.objects.create(gate=gate, user=user)
        except IntegrityError:
            raise Conflict(f"You already approved '{gate.name}'.") from None
        audit.record(
            action="gate.approved",
            obj=approval,
            user=user,
            request=request,
            project_id=plan.project_id,
            payload={
                "gate": gate.key,
                "approvals": len(active_approvals(gate)) + 1,
                "required_approvals": gate.required_approvals,
            },
        )
        # The prefetched approvals are stale now.
        _settle(plan, gates_of(plan), user=user, request=request)
    return approval


def withdraw(gate: Gate, user: Any, *, reason: str = "", request: Any = None) -> Approval:
    """Withdraw one's own active approval of a gate."""
    plan = gate.plan
    _require(user, plan.project, Capability.APPROVE_GATE, "Only a project admin can withdraw.")
    with transaction.atomic():
        plan = _lock(plan)
        approval = (
            Approval.objects.select_for_update()
            .filter(gate=gate, user=user, withdrawn_at__isnull=True)
            .first()
        )
        if approval is None:
            raise Conflict(f"You have no active approval on '{gate.name}'.")
        approval.withdrawn_at = timezone.now()
        approval.withdrawn_by = user
        approval.withdrawn_reason = (reason.strip() or "Withdrawn by the approver.")[:2000]
        approval.save(update_fields=["withdrawn_at", "withdrawn_by", "withdrawn_reason"])
        audit.record(
            action="gate.approval_withdrawn",
            obj=approval,
            user=user,
            request=request,
            project_id=plan.project_id,
            payload={"gate": gate.key, "automatic": False, "reason": approval.withdrawn_reason},
        )
        _settle(plan, gates_of(plan), user=user, request=request)
    return approval


# --- editing ---------------------------------------------------------------------------------


def _number(value: Any, name: str, *, integer: bool = False) -> float:
    if isinstance(value, bool) or value is None or value == "":
        raise ValidationError({name: "A number is required."})
    try:
        number = float(value)
    except (TypeError, ValueError):
        raise ValidationError({name: f"{value!r} is not a number."}) from None
    if not math.isfinite(number) or number < 0:
        raise ValidationError({name: "Use a number of zero or more."})
    if integer and number != int(number):
        raise ValidationError({name: "Use a whole number."})
    return number


def update_check(
    check: Check,
    *,
    user: Any,
    threshold: Any = None,
    enabled: bool | None = None,
    request: Any = None,
) -> Check:
    """Edit a check's threshold or switch it on/off (admins), then re-evaluate the plan: a
    tighter threshold can fail a check and withdraw the gate's approvals."""
    plan = check.gate.plan
    _require(user, plan.project, Capability.MANAGE, "Only a project admin can edit checks.")
    spec = checks.SPECS[check.kind]
    before = {"threshold": check.threshold, "enabled": check.enabled}
    if threshold is not None:
        value = _number(threshold, "threshold")
        if spec.unit == "%" and value > 100:
            raise ValidationError({"threshold": "A percentage is at most 100."})
        check.threshold = value
    if enabled is not None:
        if not isinstance(enabled, bool):
            raise ValidationError({"enabled": "enabled is true or false."})
        check.enabled = enabled
    with transaction.atomic():
        _lock(plan)
        check.save(update_fields=["threshold", "enabled"])
        audit.record(
            action="check.updated",
            obj=check,
            user=user,
            request=request,
            project_id=plan.project_id,
            payload={
                "gate": check.gate.key,
                "kind": check.kind,
                "before": before,
                "after": {"threshold": check.threshold, "enabled": check.enabled},
            },
        )
    evaluate(plan, user=user, request=request)
    check.refresh_from_db()
    return check


def update_gate(gate: Gate, *, user: Any, required_approvals: Any, request: Any = None) -> Gate:
    plan = gate.plan
    _require(user, plan.project, Capability.MANAGE, "Only a project admin can edit gates.")
    number = int(_number(required_approvals, "required_approvals", integer=True))
    if not 1 <= number <= MAX_APPROVALS:
        raise ValidationError({"required_approvals": f"Between 1 and {MAX_APPROVALS} approvals."})
    with transaction.atomic():
        plan = _lock(plan)
        before = gate.required_approvals
        gate.required_approvals = number
        gate.save(update_fields=["required_approvals"])
        audit.record(
            action="gate.updated",
            obj=gate,
            user=user,
            request=request,
            project_id=plan.project_id,
            payload={"gate": gate.key, "required_approvals": {"before": before, "after": number}},
        )
        _settle(plan, gates_of(plan), user=user, request=request)
    gate.refresh_from_db()
    return gate


_TRIGGER_KEYS = {"failure_rate_above", "mismatches_above", "manual"}


def _clean_unit(unit: CutoverUnit, data: dict[str, Any]) -> dict[str, Any]:
    stage_keys = set(unit.plan.gates.values_list("key", flat=True))
    clean: dict[str, Any] = {}
    unknown = sorted(
        set(data)
        - {"system_of_record", "delta_direction", "rollback_window_hours", "rollback_triggers"}
    )
    if unknown:
        raise ValidationError({"unit": f"Unknown fields: {', '.join(unknown)}."})
    for name, choices in (("system_of_record", Side.values), ("delta_direction", Direction.values)):
        if name not in data:
            continue
        value = data[name]
        if not isinstance(value, dict):
            raise ValidationError({name: "An object of stage key → value."})
        bad_stages = sorted(set(value) - stage_keys)
        if bad_stages:
            raise ValidationError({name: f"Unknown stages: {', '.join(map(str, bad_stages))}."})
        bad_values = sorted({str(v) for v in value.values() if v not in choices})
        if bad_values:
            raise ValidationError(
                {name: f"Use one of {', '.join(choices)} (not {', '.join(bad_values)})."}
            )
        clean[name] = {**getattr(unit, name), **value}
    if "rollback_window_hours" in data:
        hours = int(_number(data["rollback_window_hours"], "rollback_window_hours", integer=True))
        if hours > MAX_WINDOW_HOURS:
            raise ValidationError({"rollback_window_hours": "At most a year."})
        clean["rollback_window_hours"] = hours
    if "rollback_triggers" in data:
        triggers = data["rollback_triggers"]
        if not isinstance(triggers, dict) or set(triggers) - _TRIGGER_KEYS:
            raise ValidationError(
                {"rollback_triggers": f"An object with keys among {sorted(_TRIGGER_KEYS)}."}
            )
        merged = dict(unit.rollback_triggers)
        for key in ("failure_rate_above", "mismatches_above"):
            if key in triggers:
                value = triggers[key]
                merged[key] = None if value in (None, "") else _number(value, key)
        if "manual" in triggers:
            if not isinstance(triggers["manual"], bool):
                raise ValidationError({"rollback_triggers": "manual is true or false."})
            merged["manual"] = triggers["manual"]
        clean["rollback_triggers"] = merged
    return clean


def update_unit(
    unit: CutoverUnit, *, user: Any, data: dict[str, Any], request: Any = None
) -> CutoverUnit:
    """Edit a unit's system of record / delta direction per stage, rollback window and
    triggers (admins)."""
    plan = unit.plan
    _require(user, plan.project, Capability.MANAGE, "Only a project admin can edit units.")
    clean = _clean_unit(unit, data)
    with transaction.atomic():
        _lock(plan)
        before = {name: getattr(unit, name) for name in clean}
        for name, value in clean.items():
            setattr(unit, name, value)
        unit.save(update_fields=list(clean) or None)
        audit.record(
            action="cutover_unit.updated",
            obj=unit,
            user=user,
            request=request,
            project_id=plan.project_id,
            payload={"unit": unit.key, "before": before, "after": clean},
        )
    return unit


def unsupported_directions(unit: CutoverUnit) -> list[str]:
    """Stages where the unit asks for a delta direction the engine cannot run."""
    return [
        stage
        for stage, direction in unit.delta_direction.items()
        if direction not in {d.value for d in (Direction.SOURCE_TO_TARGET, Direction.NONE)}
    ]


def fired_triggers(unit: CutoverUnit, measurer: checks.Measurer) -> list[str]:
    """The unit's automatic rollback triggers that fire now (shown and offered; a person
    decides: a rollback writes to the live store)."""
    fired = []
    triggers = unit.rollback_triggers or {}
    limit = triggers.get("failure_rate_above")
    if limit is not None:
        rate = measurer("failure_rate")
        if rate.available and rate.value is not None and rate.value > limit:
            fired.append(f"failure rate {rate.value:g}% > {limit:g}%")
    limit = triggers.get("mismatches_above")
    if limit is not None:
        recon = measurer("reconciliation")
        if recon.available and recon.value is not None and recon.value > limit:
            fired.append(f"{recon.value:g} mismatched/missing > {limit:g}")
    return fired


def blockers(plan: CutoverPlan, gates: list[Gate]) -> list[str]:
    """What stands between the plan and going live, stage by stage."""
    if plan.is_live:
        return []
    lines = []
    for gate in gates:
        if gate.status == GateStatus.PASSED:
            continue
        failing = failing_checks(gate)
        if failing:
            lines += [f"{gate.order}. {gate.name} — {_describe(c)}" for c in failing]
        elif gate.status == GateStatus.WAITING:
            lines.append(f"{gate.order}. {gate.name} — waits for the previous stage")
        else:
            missing = gate.required_approvals - len(active_approvals(gate))
            lines.append(f"{gate.order}. {gate.name} — needs {missing} more approval(s)")
        if gate.key == defaults.GO_LIVE:
            break
    return lines


# --- rollback --------------------------------------------------------------------------------


@dataclass(frozen=True)
class RollbackWindow:
    hours: int
    opens_at: datetime
    closes_at: datetime
    units: list[str]

    def is_open(self, now: datetime | None = None) -> bool:
        return (now or timezone.now()) <= self.closes_at


def run_entities(run: Run) -> list[str]:
    plan = run.plan or {}
    return list(plan.get("order") or plan.get("entities") or run.project.entities or [])


def rollback_window(
    run: Run, plan: CutoverPlan | None = None, units: list[CutoverUnit] | None = None
) -> RollbackWindow | None:
    """The run's rollback window (None while it has not finished): from its finished_at, the
    shortest window of the units covering its entities (all units when none does)."""
    if run.finished_at is None:
        return None
    if units is None:
        units = list((plan or get_plan(run.project)).units.all())
    entities = set(run_entities(run))
    covering = [u for u in units if entities & set(u.entities)] or units
    hours = min((u.rollback_window_hours for u in covering), default=0)
    return RollbackWindow(
        hours=hours,
        opens_at=run.finished_at,
        closes_at=run.finished_at + timedelta(hours=hours),
        units=[u.key for u in covering],
    )


def start_rollback(
    project: Project, run: Run, user: Any, override: bool = False, request: Any = None
) -> Run:
    """Start a rollback run of `run` (admins). Inside the run's rollback window it starts; after
    it closes only with `override` (audited "rollback.override")."""
    _require(user, project, Capability.APPROVE_GATE, "Only a project admin can start a rollback.")
    if run.project_id != project.pk:
        raise ValidationError({"run": "That run is not part of this project."})
    if run.kind not in ROLLBACKABLE_KINDS:
        raise ValidationError(
            {"run": f"A {run.get_kind_display().lower()} run wrote nothing to roll back."}
        )
    if run.is_live or run.finished_at is None:
        raise Conflict(f"Run #{run.pk} has not finished; cancel it or wait for it first.")
    plan = get_plan(project)
    window = rollback_window(run, plan)
    assert window is not None  # finished_at is set
    outside = not window.is_open()
    if outside and not override:
        raise Conflict(
            f"Run #{run.pk} is outside its rollback window ({window.hours} h, closed "
            f"{window.closes_at:%Y-%m-%d %H:%M} UTC); an admin may override."
        )
    facts = {
        "run": run.pk,
        "window_hours": window.hours,
        "window_closes_at": window.closes_at.isoformat(),
        "units": window.units,
        "override": bool(outside and override),
    }
    with transaction.atomic():
        rollback = run_services.start_run(
            project,
            kind=RunKind.ROLLBACK,
            parent=run,
            user=user,
            request=request,
            rollback_approved=True,
        )
        if outside:
            audit.record(
                action="rollback.override",
                obj=rollback,
                user=user,
                request=request,
                project_id=project.pk,
                payload=facts,
            )
        audit.record(
            action="rollback.started",
            obj=rollback,
            user=user,
            request=request,
            project_id=project.pk,
            payload=facts,
        )
        notifications.notify(
            project,
            Event.ROLLBACK_STARTED,
            {
                "rollback_run": rollback.pk,
                "by": user.get_username(),
                **facts,
            },
        )
    return rollback
