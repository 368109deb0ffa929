"""Fixtures for the cutover plan: a project whose every check can be made to pass or fail.

Runs, outcomes and conflicts are real rows. The reconciliation report and the redirect coverage
come from apps being written alongside this one: `World` replaces exactly
`apps.reconciliation.services.latest_report` and `apps.redirects.services.coverage` (creating the
module when it does not exist yet), as the checks call them."""

from __future__ import annotations

import importlib
import sys
import types
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import pytest
from django.utils import timezone
from rest_framework.test import APIClient

from apps.conflicts.models import Conflict
from apps.core.roles import Role
from apps.golive import services
from apps.runs.choices import Action, RunKind, RunStatus
from apps.runs.models import RecordOutcome, Run
from tests.factories import MembershipFactory


def member(project: Any, role: str) -> Any:
    return MembershipFactory(project=project, role=role).user


def patch_function(monkeypatch: pytest.MonkeyPatch, module: str, name: str, fn: Any) -> None:
    try:
        target = importlib.import_module(module)
    except Exception:
        target = types.ModuleType(module)
        monkeypatch.setitem(sys.modules, module, target)
    monkeypatch.setattr(target, name, fn, raising=False)


@dataclass
class FakeCoverage:
    total: int = 100
    verified_ok: int = 100
    ratio: float = 1.0
    chains: int = 0
    loops: int = 0
    unmapped: int = 0
    not_verified: int = 0
    checked_at: datetime | None = None


class FakeReport:
    pk = 7

    def __init__(self, **summary: Any) -> None:
        self._summary = summary

    def summary(self) -> dict[str, Any]:
        return self._summary


class World:
    """A project where every check passes until a test changes one thing."""

    def __init__(self, project: Any, monkeypatch: pytest.MonkeyPatch) -> None:
        self.project = project
        now = timezone.now()
        self.full = self.run(RunKind.FULL, finished=now - timedelta(hours=2), ok=20)
        self.verify = self.run(RunKind.VERIFY, finished=now - timedelta(hours=1), ok=0)
        # The final sweep (a delta with deletes), then a verify report after it.
        self.delta = self.run(
            RunKind.DELTA, finished=now - timedelta(minutes=5), ok=200, options={"deletes": True}
        )
        self.report: dict[str, Any] = {
            "finished_at": now - timedelta(minutes=2),
            "mismatched": 0,
            "missing": 0,
            "orphans": 0,
            "failed": 0,
            "excluded": 0,
            "source": 100,
            "target": 100,
            "equation_holds": True,
            "spot_checks_failed": 0,
        }
        self.coverage = FakeCoverage(checked_at=now)
        patch_function(
            monkeypatch,
            "apps.reconciliation.services",
            "latest_report",
            lambda project: FakeReport(**self.report),
        )
        patch_function(
            monkeypatch, "apps.redirects.services", "coverage", lambda project: self.coverage
        )
        self.plan = services.get_plan(project)

    def run(self, kind: str, *, finished: datetime, ok: int, failed: int = 0, **kw: Any) -> Run:
        run = Run.objects.create(
            project=self.project,
            kind=kind,
            status=RunStatus.PARTIALLY_FAILED if failed else RunStatus.SUCCEEDED,
            started_at=finished - timedelta(minutes=10),
            finished_at=finished,
            **kw,
        )
        self.outcomes(run, ok, failed)
        return run

    def outcomes(self, run: Run, ok: int, failed: int, start: int = 0) -> None:
        RecordOutcome.objects.bulk_create(
            RecordOutcome(
                run=run,
                entity="products",
                source_id=str(start + i),
                action=Action.FAILED if i < failed else Action.UPDATED,
                reason="boom" if i < failed else "",
            )
            for i in range(ok + failed)
        )

    def fail_records(self, failed: int) -> None:
        """Failures in the last sync (the delta): rate = failed / (200 + failed)."""
        self.outcomes(self.delta, 0, failed, start=10_000)

    def open_conflict(self, n: int = 1) -> Conflict:
        return Conflict.objects.create(
            project=self.project, entity="products", source_id=f"c{n}", fields=["price"]
        )

    def gate(self, key: str) -> Any:
        return self.plan.gates.get(key=key)

    def approve_through(self, last_key: str, *admins: Any) -> None:
        """Approve every gate up to and including `last_key` with the given admins."""
        for gate in self.plan.gates.order_by("order"):
            for admin in admins[: gate.required_approvals]:
                services.approve(gate, admin)
            if gate.key == last_key:
                return


@pytest.fixture
def world(project, monkeypatch) -> World:
    return World(project, monkeypatch)


@pytest.fixture
def admin2(project):
    return member(project, Role.ADMIN)


@pytest.fixture
def api_as():
    def make(user: Any) -> APIClient:
        client = APIClient()
        client.force_authenticate(user)
        return client

    return make
