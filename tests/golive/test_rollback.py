"""Starting a rollback: admins only, inside the run's rollback window (counted from the run's
end, the shortest window of the units covering its entities), outside it only with an override
(audited), and never of a run that wrote nothing or has not finished.

The real `start_run` runs behind a spy that records each call, so its own guards apply too.
"""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.utils import timezone

from apps.core.errors import Conflict
from apps.core.models import AuditEvent
from apps.core.roles import Role
from apps.golive import notifications, services
from apps.golive.models import Delivery
from apps.runs import services as run_services
from apps.runs.choices import RunKind, RunStatus
from apps.runs.models import Run
from tests.factories import ProjectFactory
from tests.golive.conftest import member

pytestmark = pytest.mark.django_db


@pytest.fixture
def started(monkeypatch):
    calls: list[dict] = []
    real_start_run = run_services.start_run

    def spy(project, *, kind, parent=None, rollback_approved=False, **kw):
        calls.append({"kind": kind, "parent": parent, "rollback_approved": rollback_approved})
        return real_start_run(
            project, kind=kind, parent=parent, rollback_approved=rollback_approved, **kw
        )

    monkeypatch.setattr(run_services, "start_run", spy)
    return calls


def finished_run(project, *, hours_ago: float, entities=("products",), kind=RunKind.DELTA):
    end = timezone.now() - timedelta(hours=hours_ago)
    return Run.objects.create(
        project=project,
        kind=kind,
        status=RunStatus.SUCCEEDED,
        finished_at=end,
        plan={"order": list(entities)},
    )


def test_inside_the_window_an_admin_starts_a_rollback_run(project, admin_user, started):
    notifications.create_endpoint(
        project, user=admin_user, url="https://hooks.example.com/", secret="s" * 20
    )
    run = finished_run(project, hours_ago=1)

    rollback = services.start_rollback(project, run, admin_user)

    assert rollback.kind == RunKind.ROLLBACK and rollback.parent == run
    assert started == [{"kind": RunKind.ROLLBACK, "parent": run, "rollback_approved": True}]
    event = AuditEvent.objects.get(action="rollback.started")
    assert event.payload["window_hours"] == 72 and event.payload["override"] is False
    assert not AuditEvent.objects.filter(action="rollback.override").exists()
    delivery = Delivery.objects.get(event="rollback.started")
    assert delivery.payload["data"]["rollback_run"] == rollback.pk


def test_outside_the_window_it_needs_an_override(project, admin_user, started):
    run = finished_run(project, hours_ago=80)  # catalog: 72 h

    with pytest.raises(Conflict, match="outside its rollback window"):
        services.start_rollback(project, run, admin_user)
    assert started == [] and not Run.objects.filter(kind=RunKind.ROLLBACK).exists()

    rollback = services.start_rollback(project, run, admin_user, override=True)

    override = AuditEvent.objects.get(action="rollback.override")
    assert override.actor == admin_user and override.object_id == str(rollback.pk)
    assert override.payload["window_hours"] == 72 and override.payload["override"] is True


def test_the_shortest_window_of_the_units_a_run_touched_applies(project, admin_user, started):
    orders = finished_run(project, hours_ago=30, entities=("products", "orders"))
    window = services.rollback_window(orders)
    assert window.hours == 24 and set(window.units) == {"catalog", "orders"}
    with pytest.raises(Conflict):
        services.start_rollback(project, orders, admin_user)

    catalog = finished_run(project, hours_ago=30, entities=("products",))
    assert services.rollback_window(catalog).is_open()

    # An admin may widen a unit's window.
    unit = services.get_plan(project).units.get(key="orders")
    services.update_unit(unit, user=admin_user, data={"rollback_window_hours": 48})
    assert services.rollback_window(orders).is_open()


@pytest.mark.parametrize("role", [Role.PROJECT_MANAGER, Role.MERCHANDISER])
def test_only_admins_start_or_override_a_rollback(project, role, started):
    user = member(project, role)
    for run, override in (
        (finished_run(project, hours_ago=1), False),
        (finished_run(project, hours_ago=100), True),
    ):
        with pytest.raises(PermissionDenied):
            services.start_rollback(project, run, user, override=override)
    assert started == [] and not AuditEvent.objects.filter(action__startswith="rollback").exists()


def test_runs_that_cannot_be_rolled_back(project, admin_user, started):
    live = Run.objects.create(project=project, kind=RunKind.DELTA, status=RunStatus.RUNNING)
    with pytest.raises(Conflict, match="has not finished"):
        services.start_rollback(project, live, admin_user)
    live.status = RunStatus.SUCCEEDED
    live.finished_at = timezone.now()
    live.save()
    dry = finished_run(project, hours_ago=1, kind=RunKind.DRY_RUN)
    with pytest.raises(ValidationError):
        services.start_rollback(project, dry, admin_user)
    other = finished_run(ProjectFactory(), hours_ago=1)
    with pytest.raises(ValidationError):
        services.start_rollback(project, other, admin_user)
    assert started == []


def test_with_the_real_engine(project, admin_user):
    run = finished_run(project, hours_ago=1, kind=RunKind.FULL)
    rollback = services.start_rollback(project, run, admin_user)
    assert rollback.kind == RunKind.ROLLBACK and rollback.parent_id == run.pk
    assert AuditEvent.objects.filter(action="run.started", object_id=str(rollback.pk)).exists()
