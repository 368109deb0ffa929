"""Who may start a rollback of which run: only the go-live app (rollback_approved), only of an
ended run of the project that wrote to the target, once, and the latest such run first."""

from __future__ import annotations

import pytest
from django.core.exceptions import ValidationError
from rest_framework.test import APIClient

from apps.core.roles import Role
from apps.runs.choices import RunKind, RunStatus
from apps.runs.models import Run
from apps.runs.services import start_run
from tests.factories import MembershipFactory, ProjectFactory

pytestmark = pytest.mark.django_db


def make_run(project, kind=RunKind.DELTA, status=RunStatus.SUCCEEDED, **fields) -> Run:
    return Run.objects.create(project=project, kind=kind, status=status, **fields)


def start_rollback(project, parent, **kwargs):
    return start_run(
        project, kind=RunKind.ROLLBACK, parent=parent, rollback_approved=True, **kwargs
    )


def message(exc: pytest.ExceptionInfo) -> str:
    return " ".join(exc.value.messages)


def test_a_rollback_of_the_latest_writing_run_starts(project):
    make_run(project, RunKind.FULL)
    delta = make_run(project)
    make_run(project, RunKind.DRY_RUN)  # writes nothing: no reason to refuse

    run = start_rollback(project, delta)

    assert (run.kind, run.parent, run.status) == (RunKind.ROLLBACK, delta, RunStatus.QUEUED)


def test_without_the_go_live_approval_a_rollback_is_refused_with_where_to_start_it(project):
    delta = make_run(project)
    with pytest.raises(ValidationError) as exc:
        start_run(project, kind=RunKind.ROLLBACK, parent=delta)
    assert "cutover plan" in message(exc)
    assert f"/api/v1/projects/{project.pk}/rollbacks/" in message(exc)
    assert not project.runs.filter(kind=RunKind.ROLLBACK).exists()


@pytest.mark.parametrize(
    ("setup", "expected"),
    [
        (lambda p: None, "needs the run to undo"),
        (lambda p: make_run(ProjectFactory()), "belongs to another project"),
        (lambda p: make_run(p, status=RunStatus.RUNNING), "has not ended (running)"),
        (lambda p: make_run(p, RunKind.DRY_RUN), "(dry run) wrote nothing"),
        (lambda p: make_run(p, RunKind.VERIFY), "(verify) wrote nothing"),
        (
            lambda p: make_run(p, RunKind.ROLLBACK, parent=make_run(p, RunKind.FULL)),
            "(rollback) wrote nothing",
        ),
    ],
    ids=["no-parent", "other-project", "live", "dry-run", "verify", "rollback"],
)
def test_bad_parents_are_refused_with_a_clear_message(project, setup, expected):
    parent = setup(project)
    with pytest.raises(ValidationError) as exc:
        start_rollback(project, parent)
    assert expected in message(exc)


def test_a_run_is_rolled_back_once(project):
    delta = make_run(project)
    done = make_run(project, RunKind.ROLLBACK, parent=delta)
    with pytest.raises(ValidationError) as exc:
        start_rollback(project, delta)
    assert f"already rolled back by run #{done.pk}" in message(exc)


def test_a_failed_rollback_may_be_tried_again(project):
    delta = make_run(project)
    make_run(project, RunKind.ROLLBACK, parent=delta, status=RunStatus.PARTIALLY_FAILED)
    assert start_rollback(project, delta).parent == delta


def test_a_later_writing_run_must_be_rolled_back_first(project):
    first = make_run(project)
    later = make_run(project, RunKind.RETRY_FAILED)
    with pytest.raises(ValidationError) as exc:
        start_rollback(project, first)
    assert f"Run #{later.pk} (retry failed records) ran after run #{first.pk}" in message(exc)
    make_run(project, RunKind.ROLLBACK, parent=later)  # once it is undone, the earlier may go
    assert start_rollback(project, first).parent == first


def test_the_runs_api_refuses_a_rollback_and_says_where_to_start_it(project):
    delta = make_run(project)
    user = MembershipFactory(project=project, role=Role.ADMIN).user
    client = APIClient()
    client.force_authenticate(user)

    for body in ({"kind": "rollback"}, {"kind": "rollback", "parent": delta.pk}):
        response = client.post(f"/api/v1/projects/{project.pk}/runs/", body, format="json")
        assert response.status_code == 400, response.content
        assert f"/api/v1/projects/{project.pk}/rollbacks/" in str(response.json())
    assert not project.runs.filter(kind=RunKind.ROLLBACK).exists()


def test_a_rollback_run_page_says_which_run_it_rolls_back(project, client):
    delta = make_run(project)
    undo = make_run(project, RunKind.ROLLBACK, parent=delta, status=RunStatus.PARTIALLY_FAILED)
    client.force_login(MembershipFactory(project=project, role=Role.ADMIN).user)

    page = client.get(f"/runs/{undo.pk}/").content.decode()

    assert "rolls back" in page and f"run #{delta.pk}" in page
    assert 'id="retry-failed"' not in page  # started again from the cutover plan instead


def test_a_rollback_of_a_run_that_wrote_nothing_succeeds_at_once(project):
    from apps.runs.engine import run_inline

    delta = make_run(project)

    undo = run_inline(start_rollback(project, delta).pk)

    assert undo.status == RunStatus.SUCCEEDED and not undo.batches.exists()


def test_after_a_rollback_the_next_delta_reads_the_rolled_back_window_and_events_again(project):
    from datetime import timedelta

    from django.utils import timezone

    from apps.runs import planning
    from apps.runs.models import ChangeEvent

    now = timezone.now()
    full = make_run(project, RunKind.FULL, until=now - timedelta(hours=2))
    delta = make_run(project, until=now - timedelta(hours=1))
    ChangeEvent.objects.create(project=project, entity="products", source_id="7", run=delta)
    assert planning.watermark(project) == delta

    make_run(project, RunKind.ROLLBACK, parent=delta)

    assert planning.watermark(project) == full  # the delta's window is read again
    nxt = make_run(project, status=RunStatus.PLANNING)
    assert planning._event_ids(nxt, "products") == (["7"], [])
