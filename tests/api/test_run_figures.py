"""The API side of the run dashboard: figures on a run, error groups and the error filter,
retry-failed, starting with a budget override or a parent, and project settings."""

from __future__ import annotations

from datetime import timedelta

import pytest
import yaml
from django.core.management import call_command
from django.utils import timezone
from drf_spectacular.drainage import GENERATOR_STATS

from apps.core.models import AuditEvent
from apps.runs import services as run_services
from apps.runs.choices import Action, BatchStatus, RunKind, RunStatus
from apps.runs.models import EntityBatch, RecordOutcome, Run
from tests.api.helpers import assert_no_secrets, error_text, make_run
from tests.factories import ProjectFactory

pytestmark = pytest.mark.django_db


def run_url(run, suffix: str = "") -> str:
    return f"/api/v1/runs/{run.pk}/{suffix}"


def runs_url(project) -> str:
    return f"/api/v1/projects/{project.pk}/runs/"


def settings_url(project) -> str:
    return f"/api/v1/projects/{project.pk}/settings/"


@pytest.fixture
def partial_run(project) -> Run:
    """A partially failed run: 3 products failed on price, 2 categories on a missing parent."""
    now = timezone.now()
    run = make_run(
        project,
        status=RunStatus.PARTIALLY_FAILED,
        plan={
            "order": ["categories", "products"],
            "stages": [["categories"], ["products"]],
            "entities": {"categories": {"total": 2, "points": 2}, "products": {"total": 5}},
        },
        points_estimate=27,
        started_at=now - timedelta(seconds=60),
        finished_at=now,
    )
    EntityBatch.objects.create(
        run=run, entity="products", seq=0, status=BatchStatus.DONE, read=5, failed=3,
        requests=9, finished_at=now - timedelta(seconds=10),
    )  # fmt: skip
    for i in range(3):
        RecordOutcome.objects.create(
            run=run, entity="products", source_id=str(i), action=Action.FAILED,
            reason=f"price {i}.5 is above the sanity limit 1000000",
        )  # fmt: skip
    for i in range(2):
        RecordOutcome.objects.create(
            run=run, entity="categories", source_id=f"c{i}", action=Action.FAILED,
            reason=f"parent 'Shoes {i}' is not on the target",
        )  # fmt: skip
    return run


# --- run detail figures --------------------------------------------------------------------------


def test_run_detail_has_points_stages_eta_and_throughput(client_for, manager_user, project):
    now = timezone.now()
    run = make_run(
        project,
        plan={
            "order": ["products"],
            "stages": [["categories"], ["products"]],
            "entities": {"products": {"total": 100, "points": 500}},
        },
        points_estimate=500,
        budget_override=True,
        started_at=now - timedelta(seconds=100),
    )
    EntityBatch.objects.create(
        run=run, entity="products", seq=0, status=BatchStatus.DONE, read=50, requests=25,
        finished_at=now - timedelta(seconds=50),
    )  # fmt: skip
    EntityBatch.objects.create(run=run, entity="products", seq=1, status=BatchStatus.PENDING)

    data = client_for(manager_user).get(run_url(run)).json()

    assert (data["points_estimate"], data["budget_override"]) == (500, True)
    assert data["entity_points"] == {"products": 500}
    assert data["stages"] == [
        {"number": 1, "entities": ["categories"], "state": "done"},
        {"number": 2, "entities": ["products"], "state": "running"},
    ]
    eta = data["eta"]
    assert eta["basis"] == "observed_requests" and eta["remaining_records"] == 50
    assert eta["requests_per_record"] == 0.5 and eta["seconds"] == 50  # 25 requests at 0.5/s
    assert eta["quota"] is None and "finishes_at" in eta
    throughput = data["throughput"]
    assert throughput["total"] == 50 and throughput["peak"] == 50
    assert sum(b["records"] for b in throughput["buckets"]) == 50
    assert len(throughput["buckets"]) <= 30
    assert_no_secrets(client_for(manager_user).get(run_url(run)).content)


def test_ended_or_queued_run_has_null_eta_and_throughput_when_not_started(
    client_for, manager_user, project
):
    run = make_run(project, status=RunStatus.QUEUED)
    data = client_for(manager_user).get(run_url(run)).json()
    assert data["eta"] is None and data["throughput"] is None
    assert data["stages"] == [] and data["entity_points"] == {}


def test_run_list_carries_points(client_for, manager_user, partial_run):
    row = client_for(manager_user).get(runs_url(partial_run.project)).json()["results"][0]
    assert (row["points_estimate"], row["budget_override"]) == (27, False)


# --- error groups and the error filter -----------------------------------------------------------


def test_error_groups_and_failures_filtered_by_group(client_for, merchandiser_user, partial_run):
    client = client_for(merchandiser_user)

    groups = client.get(run_url(partial_run, "errors/")).json()

    assert groups == {
        "groups": [
            {
                "entity": "products",
                "error": "price # is above the sanity limit #",
                "count": 3,
            },
            {"entity": "categories", "error": "parent '…' is not on the target", "count": 2},
        ],
        "sampled": False,
    }
    only = client.get(run_url(partial_run, "errors/"), {"entity": "categories"}).json()
    assert [g["count"] for g in only["groups"]] == [2]

    key = groups["groups"][1]["error"]
    rows = client.get(run_url(partial_run, "failures/"), {"error": key}).json()["results"]
    assert sorted(r["source_id"] for r in rows) == ["c0", "c1"]
    none = client.get(run_url(partial_run, "failures/"), {"error": key, "entity": "products"})
    assert none.json()["results"] == []
    long = client.get(run_url(partial_run, "failures/"), {"error": "x" * 5000})
    assert long.status_code == 200 and long.json()["results"] == []


def test_error_groups_outsider_404_anonymous_401(api, client_for, outsider, partial_run):
    assert client_for(outsider).get(run_url(partial_run, "errors/")).status_code == 404
    assert api.get(run_url(partial_run, "errors/")).status_code == 401


# --- retry failed --------------------------------------------------------------------------------


def test_retry_failed_starts_a_child_run(client_for, manager_user, partial_run):
    response = client_for(manager_user).post(run_url(partial_run, "retry-failed/"))

    assert response.status_code == 201, response.content
    data = response.json()
    assert (data["kind"], data["status"], data["parent"]) == (
        "retry_failed",
        "queued",
        partial_run.pk,
    )
    event = AuditEvent.objects.get(action="run.started", object_id=str(data["id"]))
    assert event.payload == {"kind": "retry_failed", "parent": partial_run.pk}


def test_retry_failed_refusals(client_for, manager_user, merchandiser_user, outsider, project):
    succeeded = make_run(project, status=RunStatus.SUCCEEDED)
    assert client_for(merchandiser_user).post(run_url(succeeded, "retry-failed/")).status_code == (
        403
    )
    assert client_for(outsider).post(run_url(succeeded, "retry-failed/")).status_code == 404
    response = client_for(manager_user).post(run_url(succeeded, "retry-failed/"))
    assert response.status_code == 409
    assert "only a partially failed run" in response.json()["detail"]
    assert not Run.objects.filter(kind=RunKind.RETRY_FAILED).exists()


def test_retry_failed_while_a_run_is_live_is_409(client_for, manager_user, partial_run):
    live = make_run(partial_run.project, status=RunStatus.RUNNING)
    response = client_for(manager_user).post(run_url(partial_run, "retry-failed/"))
    assert response.status_code == 409
    assert f"run #{live.pk}" in response.json()["detail"]


def test_retry_failed_past_the_budget(client_for, manager_user, admin_user, partial_run):
    partial_run.project.points_budget = 5
    partial_run.project.save()
    url = run_url(partial_run, "retry-failed/")

    refused = client_for(manager_user).post(url, {}, format="json")
    manager_override = client_for(manager_user).post(url, {"override_budget": True}, format="json")
    admin_override = client_for(admin_user).post(url, {"override_budget": True}, format="json")

    assert refused.status_code == 409
    # 3 failed products at weight 5 and 2 categories at weight 1.
    assert "estimated at 17 Entity Points" in refused.json()["detail"]
    assert "budget of 5" in refused.json()["detail"]
    assert manager_override.status_code == 403
    assert admin_override.status_code == 201
    assert admin_override.json()["budget_override"] is True


# --- starting with override and parent -----------------------------------------------------------


@pytest.fixture
def budgeted(project, monkeypatch):
    project.points_budget = 100
    project.save()
    monkeypatch.setattr(run_services, "_estimate_points", lambda *args: 600)
    return project


def test_budget_exceeded_is_409_with_the_numbers(client_for, manager_user, budgeted):
    response = client_for(manager_user).post(runs_url(budgeted), {"kind": "full"}, format="json")
    assert response.status_code == 409
    assert "estimated at 600 Entity Points" in response.json()["detail"]
    assert "spent 0 of its budget of 100" in response.json()["detail"]
    assert not Run.objects.exists()


def test_only_an_admin_may_override(
    client_for, manager_user, merchandiser_user, admin_user, budgeted
):
    body = {"kind": "full", "override_budget": True}
    assert client_for(manager_user).post(runs_url(budgeted), body, format="json").status_code == 403
    merchandiser = client_for(merchandiser_user).post(runs_url(budgeted), body, format="json")
    assert merchandiser.status_code == 403
    response = client_for(admin_user).post(runs_url(budgeted), body, format="json")
    assert response.status_code == 201
    assert (response.json()["budget_override"], response.json()["points_estimate"]) == (True, 600)
    assert AuditEvent.objects.filter(action="run.budget_override", actor=admin_user).exists()


def test_start_retry_failed_with_a_parent(client_for, manager_user, partial_run):
    older = make_run(
        partial_run.project, status=RunStatus.PARTIALLY_FAILED, finished_at=timezone.now()
    )
    body = {"kind": "retry_failed", "parent": partial_run.pk}
    response = client_for(manager_user).post(runs_url(partial_run.project), body, format="json")
    assert response.status_code == 201, response.content
    assert response.json()["parent"] == partial_run.pk != older.pk


@pytest.mark.parametrize(
    ("body", "field", "message"),
    [
        ({"kind": "full", "parent": "PARENT"}, "parent", "only for retry_failed"),
        ({"kind": "retry_failed", "parent": "OTHER"}, "parent", "does not exist"),
        ({"kind": "retry_failed", "parent": 10**30}, "parent", "does not exist"),
        ({"kind": "retry_failed", "parent": "abc"}, "parent", "Incorrect type"),
        ({"kind": "full", "override_budget": "maybe"}, "override_budget", "valid boolean"),
    ],
)
def test_bad_start_bodies_are_400(client_for, manager_user, partial_run, body, field, message):
    other = make_run(ProjectFactory(), status=RunStatus.PARTIALLY_FAILED)
    body = {
        k: {"PARENT": partial_run.pk, "OTHER": other.pk}.get(v, v) if isinstance(v, str) else v
        for k, v in body.items()
    }
    response = client_for(manager_user).post(runs_url(partial_run.project), body, format="json")
    assert response.status_code == 400, response.content
    assert field in response.json() and message in error_text(response)


def test_start_retry_of_a_parent_that_did_not_partially_fail_is_409(
    client_for, manager_user, project
):
    done = make_run(project, status=RunStatus.SUCCEEDED)
    body = {"kind": "retry_failed", "parent": done.pk}
    response = client_for(manager_user).post(runs_url(project), body, format="json")
    assert response.status_code == 409


# --- project settings ----------------------------------------------------------------------------


def test_settings_read_by_members_and_changed_by_admins(
    client_for, admin_user, merchandiser_user, project
):
    assert client_for(merchandiser_user).get(settings_url(project)).json() == {
        "entities": list(project.entities),
        "points_budget": None,
        "entity_weights": {},
        "cleansing": {},
        "field_mappings": {},
    }
    body = {
        "points_budget": 2000,
        "entity_weights": {"orders": 4},
        "cleansing": {"normalise_phones": False},
        "field_mappings": {"posts": {"title": {"transforms": ["strip_html", "truncate:100"]}}},
    }

    response = client_for(admin_user).patch(settings_url(project), body, format="json")

    assert response.status_code == 200, response.content
    assert response.json()["points_budget"] == 2000
    project.refresh_from_db()
    assert project.entity_weights == {"orders": 4} and project.cleansing == {
        "normalise_phones": False
    }
    event = AuditEvent.objects.get(action="project.settings_changed")
    assert event.actor == admin_user and event.project_id == project.pk
    assert event.payload["entity_weights"] == {"old": {}, "new": {"orders": 4}}
    assert "entities" not in event.payload  # not sent, not changed


@pytest.mark.parametrize("fixture", ["manager_user", "merchandiser_user"])
def test_non_admins_cannot_patch_settings(request, client_for, project, fixture):
    client = client_for(request.getfixturevalue(fixture))
    response = client.patch(settings_url(project), {"points_budget": 1}, format="json")
    assert response.status_code == 403
    project.refresh_from_db()
    assert project.points_budget is None


def test_outsider_gets_404_for_settings(api, client_for, outsider, project):
    client = client_for(outsider)
    assert client.get(settings_url(project)).status_code == 404
    assert client.patch(settings_url(project), {}, format="json").status_code == 404
    assert api.patch(settings_url(project), {}, format="json").status_code == 401


@pytest.mark.parametrize(
    ("body", "field", "message"),
    [
        (
            {"field_mappings": {"products": {"name": {"transforms": ["shout"]}}}},
            "field_mappings",
            "shout",
        ),
        ({"field_mappings": {"products": "name"}}, "field_mappings", "expected an object"),
        ({"field_mappings": []}, "field_mappings", "dictionary"),
        ({"cleansing": {"shout": True}}, "cleansing", "Unknown cleansing rules: shout"),
        ({"entity_weights": {"widgets": 2}}, "entity_weights", "widgets: not an entity"),
        ({"entity_weights": {"orders": -2}}, "entity_weights", "whole number"),
        ({"entity_weights": {"orders": "many"}}, "entity_weights", "valid integer"),
        ({"points_budget": -5}, "points_budget", "cannot be negative"),
        ({"entities": ["products", "widgets"]}, "entities", "Unsupported entities: widgets"),
        ({"entities": []}, "entities", "at least one"),
    ],
)
def test_bad_settings_are_400_with_messages(client_for, admin_user, project, body, field, message):
    response = client_for(admin_user).patch(settings_url(project), body, format="json")
    assert response.status_code == 400, response.content
    assert field in response.json()
    assert message in error_text(response)
    assert not AuditEvent.objects.filter(action="project.settings_changed").exists()


# --- schema --------------------------------------------------------------------------------------


def test_schema_documents_the_new_endpoints_without_warnings(tmp_path):
    GENERATOR_STATS.reset()
    target = tmp_path / "schema.yaml"
    call_command("spectacular", "--validate", "--fail-on-warn", "--file", str(target))
    schema = yaml.safe_load(target.read_text())
    paths = schema["paths"]
    assert set(paths["/api/v1/runs/{id}/retry-failed/"]["post"]["responses"]) >= {
        "201",
        "403",
        "404",
        "409",
    }
    assert "/api/v1/runs/{id}/errors/" in paths
    assert set(paths["/api/v1/projects/{project_id}/settings/"]) >= {"get", "patch"}
    failures = paths["/api/v1/runs/{id}/failures/"]["get"]["parameters"]
    assert {p["name"] for p in failures} >= {"entity", "error"}
    detail = schema["components"]["schemas"]["RunDetail"]["properties"]
    assert {"points_estimate", "budget_override", "stages", "eta", "throughput"} <= set(detail)
    start = schema["components"]["schemas"]["RunStartRequest"]["properties"]
    assert {"override_budget", "parent"} <= set(start)
