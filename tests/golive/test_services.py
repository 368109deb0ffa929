"""The cutover plan's services: defaults, checks with evidence, approvals (who, how many, in which
order), withdrawal when a check regresses, threshold edits, going live, and the signals."""

from __future__ import annotations

import sys
from datetime import timedelta

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.utils import timezone

from apps.core.errors import Conflict
from apps.core.models import AuditEvent
from apps.core.roles import Role
from apps.golive import notifications, services
from apps.golive.choices import GateStatus, PlanState
from apps.golive.models import Approval, Check, CutoverPlan, Delivery
from apps.runs import signals
from apps.runs.choices import RunKind
from apps.runs.models import Run
from tests.golive.conftest import member

pytestmark = pytest.mark.django_db


def statuses(plan) -> dict[str, str]:
    return dict(plan.gates.values_list("key", "status"))


def test_default_plan_is_created_once_with_stages_checks_and_units(project):
    plan = services.get_plan(project)
    again = services.get_plan(project)

    assert again.pk == plan.pk and CutoverPlan.objects.count() == 1
    assert list(plan.gates.values_list("key", flat=True)) == [
        "baseline",
        "clear",
        "redirects",
        "final_sweep",
        "go_live",
        "post_launch",
    ]
    assert plan.gates.get(key="go_live").required_approvals == 2
    assert set(plan.gates.get(key="clear").checks.values_list("kind", flat=True)) == {
        "open_conflicts",
        "failure_rate",
        "reconciliation",
    }
    orders = plan.units.get(key="orders")
    assert orders.system_of_record["final_sweep"] == "source"
    assert orders.system_of_record["go_live"] == "target"
    assert orders.rollback_window_hours == 24
    assert set(plan.units.values_list("key", flat=True)) >= {
        "catalog",
        "customers",
        "orders",
        "redirects",
    }


def test_green_world_passes_every_check_with_evidence(world):
    services.evaluate(world.plan)

    failing = [(c.gate.key, c.kind, c.evidence) for c in Check.objects.filter(passed=False)]
    assert failing == []
    rate = Check.objects.filter(kind="failure_rate").first()
    assert rate.value == 0 and rate.evidence["run_id"] == world.delta.pk
    assert rate.evidence["links"][0]["url"] == f"/runs/{world.delta.pk}/"
    baseline = Check.objects.get(kind="baseline_verified")
    assert baseline.evidence["run_id"] == world.full.pk and baseline.value == 1
    coverage = Check.objects.get(kind="redirect_coverage")
    assert coverage.value == 100 and coverage.evidence["verified_ok"] == 100
    # Checks pass, but no approvals yet: the first stage awaits one, the others wait.
    assert statuses(world.plan)["baseline"] == GateStatus.AWAITING_APPROVAL
    assert statuses(world.plan)["clear"] == GateStatus.WAITING


def test_each_check_fails_on_its_own_evidence(world):
    world.fail_records(5)  # 5 / 205 = 2.4 %
    world.open_conflict()
    world.report.update(mismatched=2, missing=1)
    world.coverage.ratio, world.coverage.verified_ok = 0.8, 80
    Run.objects.filter(pk=world.full.pk).update(finished_at=timezone.now() - timedelta(hours=4))
    Run.objects.filter(pk=world.delta.pk).update(finished_at=timezone.now() - timedelta(hours=3))

    services.evaluate(world.plan)

    by_kind = {c.kind: c for c in Check.objects.filter(gate__key="final_sweep")}
    assert by_kind["sweep_age"].passed is False and by_kind["sweep_age"].value >= 179
    assert by_kind["reconciliation"].value == 3 and not by_kind["reconciliation"].passed
    assert by_kind["open_conflicts"].value == 1 and not by_kind["open_conflicts"].passed
    rate = Check.objects.get(gate__key="baseline", kind="failure_rate")
    assert rate.value == pytest.approx(100 * 5 / 205, rel=1e-3) and rate.passed is False
    assert rate.evidence["failed"] == 5 and rate.evidence["processed"] == 205
    assert Check.objects.get(kind="redirect_coverage").passed is False
    assert statuses(world.plan)["baseline"] == GateStatus.BLOCKED


def test_reconciliation_fails_when_the_equation_does_not_hold(world):
    world.report["equation_holds"] = False
    services.evaluate(world.plan)
    check = Check.objects.get(gate__key="clear", kind="reconciliation")
    assert check.value == 0 and check.passed is False
    assert "does NOT hold" in check.evidence["summary"]


def test_a_report_older_than_the_last_write_is_stale(world):
    services.evaluate(world.plan)
    assert Check.objects.get(gate__key="clear", kind="reconciliation").passed is True
    # A delta writes after the report: the report no longer speaks for the target.
    later = world.run(RunKind.DELTA, finished=timezone.now(), ok=3)
    services.evaluate(world.plan)
    check = Check.objects.get(gate__key="clear", kind="reconciliation")
    assert check.passed is False and check.evidence["stale"] is True
    assert f"run #{later.pk} wrote to the target after this report" in check.evidence["summary"]


def test_the_final_sweep_needs_a_delta_that_looked_for_deletes(world):
    Run.objects.filter(pk=world.delta.pk).update(options={})
    services.evaluate(world.plan)
    sweep = Check.objects.get(gate__key="final_sweep", kind="sweep_age")
    assert sweep.passed is False and "No final sweep" in sweep.evidence["summary"]
    # Any delta still counts for the go-live gate's freshness check.
    assert Check.objects.get(gate__key="go_live", kind="delta_age").passed is True


def test_redirect_loops_fail_coverage(world):
    world.coverage.loops = 1
    services.evaluate(world.plan)
    assert Check.objects.get(kind="redirect_coverage").passed is False


def test_unavailable_apps_make_their_checks_fail_as_not_available(world, monkeypatch):
    # An import that fails (the app not written yet, or broken) is "not available".
    monkeypatch.setitem(sys.modules, "apps.reconciliation.services", None)
    monkeypatch.setitem(sys.modules, "apps.redirects.services", None)

    services.evaluate(world.plan)

    for kind in ("reconciliation", "redirect_coverage"):
        for check in Check.objects.filter(kind=kind):
            assert check.passed is False
            assert check.evidence["available"] is False
            assert "not available" in check.evidence["summary"]


def test_baseline_needs_a_verify_after_the_full_run(world, monkeypatch):
    Run.objects.filter(pk=world.verify.pk).delete()
    world.report["finished_at"] = world.full.finished_at - timedelta(minutes=1)
    services.evaluate(world.plan)
    check = Check.objects.get(kind="baseline_verified")
    assert check.passed is False and "no verify report after it" in check.evidence["summary"]


@pytest.mark.parametrize("role", [Role.MERCHANDISER, Role.PROJECT_MANAGER])
def test_only_admins_approve(world, role):
    user = member(world.project, role)
    with pytest.raises(PermissionDenied):
        services.approve(world.gate("baseline"), user)
    assert not Approval.objects.exists()
    assert not AuditEvent.objects.filter(action="gate.approved").exists()


def test_an_admin_approval_counts_and_passes_a_one_approval_gate(world, admin_user):
    approval = services.approve(world.gate("baseline"), admin_user)

    assert approval.active
    assert statuses(world.plan)["baseline"] == GateStatus.PASSED
    assert statuses(world.plan)["clear"] == GateStatus.AWAITING_APPROVAL
    event = AuditEvent.objects.get(action="gate.approved")
    assert event.actor == admin_user and event.payload["gate"] == "baseline"


def test_a_gate_needs_n_distinct_approvers(world, admin_user, admin2):
    gate = world.gate("baseline")
    services.update_gate(gate, user=admin_user, required_approvals=2)

    services.approve(gate, admin_user)
    assert statuses(world.plan)["baseline"] == GateStatus.AWAITING_APPROVAL
    with pytest.raises(Conflict, match="already approved"):
        services.approve(gate, admin_user)
    assert Approval.objects.filter(gate=gate).count() == 1

    services.approve(gate, admin2)
    assert statuses(world.plan)["baseline"] == GateStatus.PASSED


def test_gates_are_approved_in_order(world, admin_user):
    with pytest.raises(Conflict, match="before 'Baseline verified' has passed"):
        services.approve(world.gate("clear"), admin_user)
    assert not Approval.objects.exists()


def test_approval_is_refused_while_a_check_fails(world, admin_user):
    services.approve(world.gate("baseline"), admin_user)
    world.open_conflict()
    with pytest.raises(Conflict, match="Open conflicts: 1 conflicts vs max 0"):
        services.approve(world.gate("clear"), admin_user)
    assert Approval.objects.filter(gate__key="clear").count() == 0


def test_a_regressing_check_withdraws_the_approvals_and_says_why(world, admin_user, admin2):
    notifications.create_endpoint(
        world.project, user=admin_user, url="https://hooks.example.com/x", secret="s" * 20
    )
    services.approve(world.gate("baseline"), admin_user)
    services.approve(world.gate("clear"), admin_user)
    assert statuses(world.plan)["clear"] == GateStatus.PASSED

    world.open_conflict()
    result = services.evaluate(world.plan)

    withdrawn = Approval.objects.get(gate__key="clear")
    assert withdrawn.withdrawn_at is not None and withdrawn.withdrawn_by is None
    assert "Open conflicts: 1 conflicts vs max 0" in withdrawn.withdrawn_reason
    assert [a.pk for a in result.withdrawn] == [withdrawn.pk]
    # The first gate's checks still pass: its approval stays.
    assert Approval.objects.get(gate__key="baseline").withdrawn_at is None
    assert statuses(world.plan)["clear"] == GateStatus.BLOCKED
    audit = AuditEvent.objects.get(action="gate.approval_withdrawn")
    assert audit.payload["automatic"] is True and audit.payload["checks"][0]["value"] == 1
    assert AuditEvent.objects.filter(action="gate.approved").count() == 2
    changes = [
        (d.payload["data"]["gate"]["key"], d.payload["data"]["from"], d.payload["data"]["to"])
        for d in Delivery.objects.filter(event="gate.changed").order_by("id")
    ]
    assert ("clear", GateStatus.PASSED, GateStatus.BLOCKED) in changes


def test_editing_a_threshold_changes_pass_and_fail(world, admin_user):
    world.fail_records(2)  # 2 / 202 ≈ 0.99 %
    check = Check.objects.get(gate__key="baseline", kind="failure_rate")
    services.evaluate(world.plan)
    assert Check.objects.get(pk=check.pk).passed is True
    services.approve(world.gate("baseline"), admin_user)

    services.update_check(check, user=admin_user, threshold=0.5)
    check.refresh_from_db()
    assert check.passed is False and check.threshold == 0.5
    assert Approval.objects.get(gate__key="baseline").withdrawn_at is not None
    assert AuditEvent.objects.filter(action="check.updated").count() == 1

    services.update_check(check, user=admin_user, threshold=2)
    assert Check.objects.get(pk=check.pk).passed is True

    services.update_check(check, user=admin_user, threshold=0.1, enabled=False)
    assert statuses(world.plan)["baseline"] == GateStatus.AWAITING_APPROVAL


def test_threshold_edits_are_validated_and_admin_only(world, admin_user, manager_user):
    check = Check.objects.get(gate__key="baseline", kind="failure_rate")
    for bad in ("abc", -1, 101, float("nan"), True):
        with pytest.raises(ValidationError):
            services.update_check(check, user=admin_user, threshold=bad)
    with pytest.raises(PermissionDenied):
        services.update_check(check, user=manager_user, threshold=5)
    with pytest.raises(ValidationError):
        services.update_gate(world.gate("baseline"), user=admin_user, required_approvals=0)
    assert Check.objects.get(pk=check.pk).threshold == 1.0


def test_going_live(world, admin_user, admin2):
    world.approve_through("final_sweep", admin_user)
    gate = world.gate("go_live")
    services.approve(gate, admin_user)
    world.plan.refresh_from_db()
    assert world.plan.state == PlanState.PREPARING

    services.approve(gate, admin2)

    world.plan.refresh_from_db()
    assert world.plan.state == PlanState.LIVE and world.plan.went_live_at is not None
    assert AuditEvent.objects.filter(action="cutover.went_live").count() == 1
    assert statuses(world.plan)["post_launch"] == GateStatus.AWAITING_APPROVAL
    # Withdrawing afterwards does not undo going live (the way back is a rollback).
    services.withdraw(gate, admin2)
    world.plan.refresh_from_db()
    assert world.plan.state == PlanState.LIVE
    assert statuses(world.plan)["go_live"] == GateStatus.AWAITING_APPROVAL


def test_withdrawing_ones_own_approval(world, admin_user, admin2):
    gate = world.gate("baseline")
    services.approve(gate, admin_user)
    with pytest.raises(Conflict, match="no active approval"):
        services.withdraw(gate, admin2)

    approval = services.withdraw(gate, admin_user, reason="found a problem")

    assert approval.withdrawn_by == admin_user and "found a problem" in approval.withdrawn_reason
    assert statuses(world.plan)["baseline"] == GateStatus.AWAITING_APPROVAL
    event = AuditEvent.objects.get(action="gate.approval_withdrawn")
    assert event.actor == admin_user and event.payload["automatic"] is False
    # Approving again after a withdrawal is allowed.
    services.approve(gate, admin_user)
    assert Approval.objects.filter(gate=gate, withdrawn_at__isnull=True).count() == 1


def test_conflict_opened_signal_reevaluates_and_withdraws(world, admin_user):
    services.approve(world.gate("baseline"), admin_user)
    services.approve(world.gate("clear"), admin_user)
    conflict = world.open_conflict()

    signals.conflict_opened.send(
        sender=Run, run=world.delta, conflict=conflict, entity="products", source_id="c1"
    )

    assert Approval.objects.get(gate__key="clear").withdrawn_at is not None
    assert statuses(world.plan)["clear"] == GateStatus.BLOCKED


def test_run_finished_signal_reevaluates_and_notifies(world, admin_user):
    notifications.create_endpoint(
        world.project, user=admin_user, url="https://hooks.example.com/x", secret="s" * 20
    )
    services.approve(world.gate("baseline"), admin_user)
    bad = world.run(RunKind.DELTA, finished=timezone.now(), ok=10, failed=10)

    signals.run_finished.send(sender=Run, run=bad)

    assert Approval.objects.get(gate__key="baseline").withdrawn_at is not None
    rate = Check.objects.get(gate__key="baseline", kind="failure_rate")
    assert rate.value == 50 and rate.evidence["run_id"] == bad.pk
    finished = Delivery.objects.get(event="run.finished")
    assert finished.payload["data"]["run_id"] == bad.pk
    assert finished.payload["data"]["status"] == "partially_failed"


def test_signal_receivers_never_raise_into_the_engine(world, monkeypatch):
    def explode(*args, **kwargs):
        raise RuntimeError("notification backend down")

    monkeypatch.setattr(services, "evaluate", explode)
    monkeypatch.setattr(notifications, "notify", explode)
    signals.run_finished.send(sender=Run, run=world.delta)  # no exception


def test_units_are_edited_and_validated(world, admin_user, merchandiser_user):
    unit = world.plan.units.get(key="catalog")
    services.update_unit(
        unit,
        user=admin_user,
        data={
            "delta_direction": {"post_launch": "target_to_source"},
            "rollback_window_hours": 12,
            "rollback_triggers": {"failure_rate_above": 3, "manual": False},
        },
    )
    unit.refresh_from_db()
    assert unit.rollback_window_hours == 12
    assert (
        unit.rollback_triggers["failure_rate_above"] == 3 and not unit.rollback_triggers["manual"]
    )
    assert unit.delta_direction["go_live"] == "source_to_target"  # untouched stages kept
    assert services.unsupported_directions(unit) == ["post_launch"]
    assert AuditEvent.objects.filter(action="cutover_unit.updated").count() == 1
    for bad in (
        {"system_of_record": {"nowhere": "source"}},
        {"system_of_record": {"go_live": "both"}},
        {"rollback_window_hours": -3},
        {"colour": "red"},
    ):
        with pytest.raises(ValidationError):
            services.update_unit(unit, user=admin_user, data=bad)
    with pytest.raises(PermissionDenied):
        services.update_unit(unit, user=merchandiser_user, data={"rollback_window_hours": 1})


def test_rollback_triggers_fire_on_thresholds(world):
    world.fail_records(20)  # 20 / 220 ≈ 9 %
    evaluation = services.evaluate(world.plan)
    unit = world.plan.units.get(key="catalog")
    fired = services.fired_triggers(unit, evaluation.measurer)
    assert fired and "failure rate" in fired[0]


def test_evaluate_all(world, project):
    assert services.evaluate_all() == 1
    assert CutoverPlan.objects.get(pk=world.plan.pk).evaluated_at is not None


def test_a_run_that_failed_as_a_whole_counts_as_100_percent(world):
    failed = world.run(RunKind.DELTA, finished=timezone.now(), ok=0)
    Run.objects.filter(pk=failed.pk).update(status="failed", error="source unreachable")
    services.evaluate(world.plan)
    rate = Check.objects.get(gate__key="baseline", kind="failure_rate")
    assert rate.value == 100 and rate.passed is False
    assert "source unreachable" in rate.evidence["summary"]


def test_with_the_real_reconciliation_and_redirects_apps_and_no_data(project):
    # No monkeypatching: whatever those apps answer for an empty project (or "not available"
    # if they cannot be imported), neither check may pass on no evidence.
    plan = services.get_plan(project)
    services.evaluate(plan)
    for kind in ("reconciliation", "redirect_coverage"):
        for check in Check.objects.filter(gate__plan=plan, kind=kind):
            assert check.passed is False, (kind, check.evidence)
            assert check.evidence["summary"]
