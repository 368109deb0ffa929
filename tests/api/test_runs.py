from __future__ import annotations

import pytest

from apps.core.models import AuditEvent
from apps.runs.choices import BatchStatus, RunStatus
from apps.runs.models import EntityBatch, Run
from tests.api.helpers import assert_no_secrets, error_text, make_run

pytestmark = pytest.mark.django_db


def runs_url(project) -> str:
    return f"/api/v1/projects/{project.pk}/runs/"


def run_url(run, suffix: str = "") -> str:
    return f"/api/v1/runs/{run.pk}/{suffix}"


# --- starting -----------------------------------------------------------------------------


@pytest.mark.parametrize("fixture", ["manager_user", "admin_user"])
def test_start_a_full_run(request, client_for, project, fixture):
    starter = request.getfixturevalue(fixture)

    response = client_for(starter).post(runs_url(project), {"kind": "full"}, format="json")

    assert response.status_code == 201, response.content
    data = response.json()
    assert (data["kind"], data["status"], data["is_live"]) == ("full", "queued", True)
    assert data["created_by"] == starter.username
    assert data["entities"] == []
    assert data["totals"]["percent"] == 0
    run = Run.objects.get(pk=data["id"])
    event = AuditEvent.objects.get(action="run.started", object_id=str(run.pk))
    assert (event.actor, event.project_id, event.payload["kind"]) == (starter, project.pk, "full")
    assert_no_secrets(response.content)


def test_second_start_while_live_is_409(client_for, project, manager_user):
    client = client_for(manager_user)
    first = client.post(runs_url(project), {"kind": "full"}, format="json")
    second = client.post(runs_url(project), {"kind": "full"}, format="json")

    assert first.status_code == 201
    assert second.status_code == 409
    assert f"run #{first.json()['id']}" in second.json()["detail"]
    assert "cancel" in second.json()["detail"]
    assert Run.objects.filter(project=project).count() == 1
    assert AuditEvent.objects.filter(action="run.started").count() == 1


def test_merchandiser_cannot_start(client_for, project, merchandiser_user):
    response = client_for(merchandiser_user).post(runs_url(project), {"kind": "full"})
    assert response.status_code == 403
    assert "Start and cancel runs" in response.json()["detail"]
    assert not Run.objects.exists()


def test_outsider_cannot_start_or_list(client_for, project, outsider):
    client = client_for(outsider)
    assert client.post(runs_url(project), {"kind": "full"}, format="json").status_code == 404
    assert client.get(runs_url(project)).status_code == 404
    assert not Run.objects.exists()


def test_anonymous_cannot_start(api, project):
    assert api.post(runs_url(project), {"kind": "full"}, format="json").status_code == 401


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ({"kind": "everything"}, '"everything" is not a run kind'),
        ({"kind": "delta"}, "needs a baseline"),
        ({"kind": "retry_failed"}, "no partially failed run"),
        ({"kind": ["full"]}, "not a run kind"),
        ({}, "required"),
    ],
)
def test_bad_kind_is_400_with_message(client_for, project, manager_user, body, message):
    response = client_for(manager_user).post(runs_url(project), body, format="json")
    assert response.status_code == 400, response.content
    assert "kind" in response.json()
    assert message in error_text(response)
    assert not Run.objects.exists()


def test_list_runs_newest_first(client_for, project, merchandiser_user):
    older = make_run(project, status=RunStatus.SUCCEEDED)
    newer = make_run(project, status=RunStatus.RUNNING)

    response = client_for(merchandiser_user).get(runs_url(project))

    assert response.status_code == 200
    assert [row["id"] for row in response.json()["results"]] == [newer.pk, older.pk]
    assert (
        client_for(merchandiser_user)
        .get(runs_url(project), {"status": "succeeded"})
        .json()["results"][0]["id"]
        == older.pk
    )


# --- reading ------------------------------------------------------------------------------


def test_run_detail_has_progress_per_entity_and_totals(client_for, run_with_progress, manager_user):
    response = client_for(manager_user).get(run_url(run_with_progress))

    assert response.status_code == 200
    data = response.json()
    assert data["status"] == "running"
    assert {"created_at", "started_at", "finished_at", "error"} <= set(data)
    assert data["entities"] == [
        {
            "entity": "products",
            "total": 10,
            "processed": 8,
            "created": 4,
            "updated": 2,
            "unchanged": 0,
            "skipped": 0,
            "failed": 2,
            "merged": 0,
            "conflicts": 0,
            "deleted": 0,
            "percent": 80,
            "batches_total": 3,
            "batches_done": 2,
        }
    ]
    totals = data["totals"]
    assert (totals["total"], totals["processed"], totals["percent"]) == (10, 8, 80)
    assert "entity" not in totals


@pytest.mark.parametrize("suffix", ["", "failures/", "batches/"])
def test_outsider_gets_404_for_run_pages(client_for, run_with_progress, outsider, suffix):
    response = client_for(outsider).get(run_url(run_with_progress, suffix))
    assert response.status_code == 404
    assert response.json()["detail"] == "No such run."


@pytest.mark.parametrize("path", ["999999/", "0/", "abc/", "9" * 40 + "/", "-3/"])
def test_impossible_run_ids_are_404(client_for, manager_user, path):
    assert client_for(manager_user).get(f"/api/v1/runs/{path}").status_code == 404


def test_anonymous_cannot_read_runs(api, run_with_progress):
    for suffix in ("", "failures/", "batches/"):
        assert api.get(run_url(run_with_progress, suffix)).status_code == 401


def test_failures_list_filter_and_pagination(client_for, run_with_progress, merchandiser_user):
    client = client_for(merchandiser_user)
    url = run_url(run_with_progress, "failures/")

    everything = client.get(url)
    products = client.get(url, {"entity": "products"})
    first_page = client.get(url, {"page_size": 2})
    second_page = client.get(first_page.json()["next"])

    assert everything.status_code == 200
    rows = everything.json()["results"]
    assert [row["source_id"] for row in rows] == ["c1", "13", "12"]
    assert set(rows[0]) == {
        "id",
        "entity",
        "source_id",
        "natural_key",
        "reason",
        "payload_digest",
        "created_at",
    }
    assert rows[0]["reason"] == "price: not a number"
    assert [row["source_id"] for row in products.json()["results"]] == ["13", "12"]
    assert [row["source_id"] for row in first_page.json()["results"]] == ["c1", "13"]
    assert [row["source_id"] for row in second_page.json()["results"]] == ["12"]
    assert second_page.json()["next"] is None


@pytest.mark.parametrize("cursor", ["garbage", "cD1hYmM=", "cD05OTk5OTk5OTk5OTk5OTk5OTk5OTk5OQ=="])
def test_bad_cursor_is_404_not_500(client_for, run_with_progress, manager_user, cursor):
    # "cD1hYmM=" is p=abc; the last is a 22-digit position that would overflow the driver.
    response = client_for(manager_user).get(
        run_url(run_with_progress, "failures/"), {"cursor": cursor}
    )
    assert response.status_code == 404
    assert response.json()["detail"] == "Invalid cursor"


def test_batches_list_and_filters(client_for, run_with_progress, manager_user):
    client = client_for(manager_user)
    url = run_url(run_with_progress, "batches/")

    response = client.get(url)
    running = client.get(url, {"status": "running"})
    bad = client.get(url, {"status": "sleeping"})

    assert response.status_code == 200
    assert [row["seq"] for row in response.json()["results"]] == [1, 2, 3]
    assert response.json()["results"][0]["status"] == BatchStatus.DONE
    assert [row["seq"] for row in running.json()["results"]] == [3]
    assert bad.status_code == 400
    assert "status" in bad.json()


# --- cancelling ---------------------------------------------------------------------------


def test_cancel_a_live_run(client_for, run_with_progress, manager_user):
    client = client_for(manager_user)
    response = client.post(run_url(run_with_progress, "cancel/"))

    assert response.status_code == 200, response.content
    assert response.json()["status"] == "cancelled"
    assert response.json()["finished_at"] is not None
    assert not EntityBatch.objects.filter(
        run=run_with_progress, status__in=[BatchStatus.PENDING, BatchStatus.RUNNING]
    ).exists()
    event = AuditEvent.objects.get(action="run.cancelled")
    assert (event.actor, event.object_id) == (manager_user, str(run_with_progress.pk))

    again = client.post(run_url(run_with_progress, "cancel/"))
    assert again.status_code == 409
    assert "already ended" in again.json()["detail"]


def test_merchandiser_cannot_cancel(client_for, run_with_progress, merchandiser_user):
    response = client_for(merchandiser_user).post(run_url(run_with_progress, "cancel/"))
    assert response.status_code == 403
    run_with_progress.refresh_from_db()
    assert run_with_progress.status == RunStatus.RUNNING


def test_outsider_cannot_cancel(client_for, run_with_progress, outsider):
    response = client_for(outsider).post(run_url(run_with_progress, "cancel/"))
    assert response.status_code == 404
    assert not AuditEvent.objects.filter(action="run.cancelled").exists()


def test_cancel_then_start_again(client_for, project, manager_user):
    client = client_for(manager_user)
    first = client.post(runs_url(project), {"kind": "full"}, format="json").json()
    client.post(f"/api/v1/runs/{first['id']}/cancel/")
    assert client.post(runs_url(project), {"kind": "full"}, format="json").status_code == 201
