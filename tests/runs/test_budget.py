import pytest
from django.core.exceptions import PermissionDenied

from apps.core.models import AuditEvent
from apps.core.roles import Role
from apps.runs.choices import RunKind
from apps.runs.services import BudgetExceeded, start_run
from tests.factories import MembershipFactory


def test_a_run_past_the_points_budget_is_refused_with_the_numbers(rehearsal):
    rehearsal.project.points_budget = 100
    rehearsal.project.save()
    with pytest.raises(BudgetExceeded, match=r"estimated at 600 Entity Points.*budget of 100"):
        start_run(rehearsal.project, kind=RunKind.FULL)
    assert not rehearsal.project.runs.exists()


def test_only_an_admin_may_override_and_the_override_is_audited(rehearsal):
    project = rehearsal.project
    project.points_budget = 100
    project.save()
    manager = MembershipFactory(project=project, role=Role.PROJECT_MANAGER).user
    admin = project.memberships.get(role=Role.ADMIN).user

    with pytest.raises(PermissionDenied):
        start_run(project, kind=RunKind.FULL, user=manager, override_budget=True)
    run = start_run(project, kind=RunKind.FULL, user=admin, override_budget=True)

    assert run.budget_override and run.points_estimate == 600
    event = AuditEvent.objects.get(action="run.budget_override")
    assert event.actor == admin and event.payload == {"estimate": 600, "budget": 100}


def test_a_run_within_budget_starts_and_records_its_estimate(rehearsal):
    project = rehearsal.project
    project.points_budget = 1000
    project.entity_weights = {"products": 2}
    project.save()
    run = start_run(project, kind=RunKind.FULL)
    assert run.points_estimate == 240 and not run.budget_override
