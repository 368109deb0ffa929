"""The gates over the real evidence: a full run, a verify run and redirects collected, pushed and
verified on the sandboxes — nothing stands in. Coverage below the threshold blocks the redirects
gate and withdraws its approval; the baseline gate passes only once a verify run proves the full
run."""

from __future__ import annotations

import pytest
from django.core.exceptions import ValidationError

from apps.core.errors import Conflict
from apps.core.models import AuditEvent
from apps.golive import services
from apps.golive.choices import CheckKind
from apps.redirects import services as redirects
from apps.redirects.models import Redirect
from apps.runs.choices import RunKind, RunStatus
from apps.runs.engine import run_inline
from apps.runs.services import start_run
from apps.sandbox.demo_catalog import seed_store
from tests.support.rehearsal import make_rehearsal

pytestmark = pytest.mark.django_db


@pytest.fixture
def migrated(sandbox_http):
    rehearsal = make_rehearsal(sandbox_http, products=0)
    seed_store(rehearsal.source, 20, categories=True, posts=3)
    rehearsal.project.entities = ["categories", "products", "posts"]
    rehearsal.project.save()
    run = run_inline(start_run(rehearsal.project, kind=RunKind.FULL).pk)
    assert run.status == RunStatus.SUCCEEDED, run.error
    return rehearsal


def _gate(project, key):
    plan = services.get_plan(project)
    services.evaluate(plan)
    return next(g for g in services.gates_of(plan) if g.key == key)


def _check(gate, kind):
    return gate.checks.get(kind=kind)


def _admin(rehearsal):
    return rehearsal.project.memberships.get().user


def test_baseline_gate_passes_only_once_a_verify_run_proves_the_full_run(migrated):
    project, admin = migrated.project, _admin(migrated)
    gate = _gate(project, "baseline")
    assert not _check(gate, CheckKind.BASELINE_VERIFIED).passed
    with pytest.raises((Conflict, ValidationError)):
        services.approve(gate, admin)

    verify = run_inline(start_run(project, kind=RunKind.VERIFY).pk)
    assert verify.status == RunStatus.SUCCEEDED, verify.error

    gate = _gate(project, "baseline")
    check = _check(gate, CheckKind.BASELINE_VERIFIED)
    assert check.passed, check.evidence
    services.approve(gate, admin)
    assert AuditEvent.objects.filter(action__startswith="gate.approv").exists()


def test_redirect_coverage_below_the_threshold_blocks_the_gate_and_withdraws_its_approval(
    migrated,
):
    project, admin = migrated.project, _admin(migrated)
    redirects.collect(project)
    redirects.push(project)
    redirects.verify(project)
    total = Redirect.objects.filter(project=project).count()
    assert total >= 20 and redirects.coverage(project).ratio == 1.0

    gate = _gate(project, "redirects")
    check = _check(gate, CheckKind.REDIRECT_COVERAGE)
    assert check.passed and check.value == pytest.approx(100.0), check.evidence
    # Earlier gates are not passed yet: the approval is refused for that reason, not coverage.
    # Open them by switching their checks off, as an admin may (each edit is audited).
    for earlier in ("baseline", "clear"):
        earlier_gate = _gate(project, earlier)
        for c in earlier_gate.checks.all():
            services.update_check(c, user=admin, threshold=c.threshold, enabled=False)
        services.approve(_gate(project, earlier), admin)
    approval = services.approve(_gate(project, "redirects"), admin)

    # Two redirects vanish from the target: below 95 % the gate fails and the approval goes.
    with migrated.big() as big:
        listed = big.get("storefront/redirects", params={"limit": 2}).json()["data"]
        ids = ",".join(str(r["id"]) for r in listed)
        assert big.delete("storefront/redirects", params={"id:in": ids}).status_code == 204
    redirects.verify(project)
    assert redirects.coverage(project).ratio < 0.95

    gate = _gate(project, "redirects")
    check = _check(gate, CheckKind.REDIRECT_COVERAGE)
    assert not check.passed
    assert check.value == pytest.approx(100.0 * (total - 2) / total, abs=0.01)
    approval.refresh_from_db()
    assert approval.withdrawn_at is not None and "coverage" in approval.withdrawn_reason.lower()
    with pytest.raises((Conflict, ValidationError)):
        services.approve(gate, admin)
