"""The run API around schedules and plans: a dry run of a delta through POST, a run's options and
window in GET, starting a plan for real, and the lag endpoint."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.core.cache import cache
from django.utils import timezone

from apps.runs.choices import RunKind, RunStatus
from apps.runs.models import Run
from tests.api.helpers import make_run

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _clean_cache():
    cache.clear()
    yield
    cache.clear()


@pytest.fixture
def baseline(project) -> Run:
    until = timezone.now() - timedelta(hours=3)
    return make_run(
        project,
        status=RunStatus.SUCCEEDED,
        until=until,
        plan={"order": ["products"], "entities": {}},
    )


def test_post_a_dry_run_of_a_delta(client_for, project, manager_user, baseline):
    response = client_for(manager_user).post(
        f"/api/v1/projects/{project.pk}/runs/",
        {"kind": "dry_run", "of": "delta", "deletes": True},
        format="json",
    )

    assert response.status_code == 201, response.content
    data = response.json()
    assert data["kind"] == "dry_run"
    assert data["options"] == {"of": "delta", "deletes": True}
    assert Run.objects.get(pk=data["id"]).options == {"of": "delta", "deletes": True}


def test_a_dry_run_of_a_delta_needs_a_baseline(client_for, project, manager_user):
    response = client_for(manager_user).post(
        f"/api/v1/projects/{project.pk}/runs/", {"kind": "dry_run", "of": "delta"}, format="json"
    )
    assert response.status_code == 400
    assert "needs a baseline" in str(response.json())


def test_get_a_run_shows_its_options_and_window(client_for, project, manager_user, baseline):
    since, until = baseline.until - timedelta(minutes=5), timezone.now()
    delta = make_run(
        project,
        status=RunStatus.SUCCEEDED,
        kind=RunKind.DELTA,
        options={"deletes": True},
        since=since,
        until=until,
    )

    data = client_for(manager_user).get(f"/api/v1/runs/{delta.pk}/").json()

    assert data["options"] == {"deletes": True}
    assert data["since"] == since.isoformat().replace("+00:00", "Z")
    assert data["until"] == until.isoformat().replace("+00:00", "Z")


def test_start_a_plan_for_real(client_for, project, manager_user, baseline):
    dry = make_run(
        project,
        status=RunStatus.SUCCEEDED,
        kind=RunKind.DRY_RUN,
        options={"of": "delta", "deletes": True},
    )

    response = client_for(manager_user).post(f"/api/v1/runs/{dry.pk}/start-for-real/", {})

    assert response.status_code == 201, response.content
    data = response.json()
    assert (data["kind"], data["options"]) == ("delta", {"deletes": True})


def test_start_for_real_refusals(client_for, project, manager_user, merchandiser_user, baseline):
    live = make_run(project, kind=RunKind.DRY_RUN, options={"of": "full"})
    client = client_for(manager_user)
    response = client.post(f"/api/v1/runs/{live.pk}/start-for-real/", {})
    assert response.status_code == 409 and "once it has succeeded" in response.json()["detail"]
    assert client.post(f"/api/v1/runs/{baseline.pk}/start-for-real/", {}).status_code == 409
    merch = client_for(merchandiser_user).post(f"/api/v1/runs/{baseline.pk}/start-for-real/", {})
    assert merch.status_code == 403
    override = client.post(
        f"/api/v1/runs/{live.pk}/start-for-real/", {"override_budget": True}, format="json"
    )
    assert override.status_code == 403  # an admin's act


def test_lag_endpoint_before_any_sync(client_for, project, merchandiser_user):
    data = client_for(merchandiser_user).get(f"/api/v1/projects/{project.pk}/lag/").json()
    assert data["error"] == ""
    assert {row["method"] for row in data["entities"]} == {"not_synced"}
    assert all(row["changed"] is None for row in data["entities"])


def test_lag_endpoint_for_non_members(client_for, project, outsider):
    assert client_for(outsider).get(f"/api/v1/projects/{project.pk}/lag/").status_code == 404
