"""The reconciliation API: starting a verify run through the runs API, reading reports and
items, the CSV, the important-records list, and who may do what."""

from __future__ import annotations

import csv
import io

import pytest
from django.urls import reverse

from apps.core.models import AuditEvent
from apps.core.roles import Role
from apps.reconciliation.models import ImportantRecord
from apps.runs import executors
from apps.runs.choices import RunKind, RunStatus
from apps.runs.engine import run_inline
from tests.reconciliation.conftest import PRODUCTS, edit_target, member, product_maps, verify


@pytest.fixture
def admin(migrated):
    return member(migrated.project, Role.ADMIN)


@pytest.fixture
def merchandiser(migrated):
    return member(migrated.project, Role.MERCHANDISER)


@pytest.fixture
def reported(migrated):
    """A finished verify report with one mismatch (a name edited on the target)."""
    edited = product_maps(migrated)[0]
    edit_target(migrated, edited.target_id, lambda r: r.update(name="=Edited"))
    migrated.report = verify(migrated).reconciliation_report
    migrated.edited = edited
    return migrated


def test_a_verify_run_starts_through_the_runs_api(
    migrated, api_as, django_capture_on_commit_callbacks
):
    manager = member(migrated.project, Role.PROJECT_MANAGER)
    url = reverse("api:project-runs", args=[migrated.project.pk])
    executor = executors.registered(RunKind.VERIFY)
    assert executor is not None and executor.task_name == "reconciliation.verify_run"
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        response = api_as(manager).post(url, {"kind": "verify"}, format="json")
    assert response.status_code == 201, response.content
    assert response.json()["kind"] == "verify"
    assert len(callbacks) == 1  # the executor's task is sent once the run is committed

    run = run_inline(response.json()["id"])
    assert run.status == RunStatus.SUCCEEDED
    latest = api_as(manager).get(reverse("api:reconciliation-latest", args=[migrated.project.pk]))
    assert latest.status_code == 200
    body = latest.json()
    assert body["run"] == run.pk
    assert body["summary"]["equation_holds"] is True
    assert body["entities"][0]["entity"] == "products"
    assert body["entities"][0]["matched"] == PRODUCTS

    # A merchandiser may not start runs.
    merchandiser = member(migrated.project, Role.MERCHANDISER)
    refused = api_as(merchandiser).post(url, {"kind": "verify"}, format="json")
    assert refused.status_code == 403


def test_latest_report_is_404_with_a_message_before_any_verify(migrated, api_as, admin):
    response = api_as(admin).get(reverse("api:reconciliation-latest", args=[migrated.project.pk]))
    assert response.status_code == 404
    assert "verify" in response.json()["detail"]


def test_report_and_items_with_filters(reported, api_as, merchandiser):
    client = api_as(merchandiser)
    report = reported.report
    detail = client.get(reverse("api:reconciliation-report", args=[report.pk]))
    assert detail.status_code == 200
    assert detail.json()["summary"]["mismatched"] == 1
    url = reverse("api:reconciliation-items", args=[report.pk])
    page = client.get(url, {"kind": "mismatch", "entity": "products"}).json()
    [item] = page["results"]
    assert item["source_id"] == reported.edited.source_id
    assert item["diffs"] == [
        {"field": "name", "source": reported.edited.canonical["name"], "target": "=Edited"}
    ]
    assert client.get(url, {"kind": "orphan"}).json()["results"] == []
    assert client.get(url, {"entity": "customers"}).json()["results"] == []
    bad = client.get(url, {"kind": "nonsense"})
    assert bad.status_code == 400 and "kind" in bad.json()
    assert client.get(reverse("api:reconciliation-report", args=[99999999])).status_code == 404


def test_csv_has_a_row_per_diff(reported, api_as, merchandiser):
    response = api_as(merchandiser).get(
        reverse("api:reconciliation-csv", args=[reported.report.pk]), HTTP_ACCEPT="text/csv"
    )
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/csv")
    rows = list(csv.reader(io.StringIO(b"".join(response.streaming_content).decode())))
    assert rows[0][:3] == ["kind", "entity", "source_id"]
    [row] = rows[1:]
    assert row[0] == "mismatch" and row[2] == reported.edited.source_id
    assert row[6:9] == ["name", reported.edited.canonical["name"], "'=Edited"]


def test_outsiders_get_404_everywhere(reported, api_as, outsider):
    client = api_as(outsider)
    report = reported.report
    record = ImportantRecord.objects.create(
        project=reported.project, entity="products", natural_key="X"
    )
    for url in (
        reverse("api:reconciliation-latest", args=[reported.project.pk]),
        reverse("api:reconciliation-report", args=[report.pk]),
        reverse("api:reconciliation-items", args=[report.pk]),
        reverse("api:reconciliation-csv", args=[report.pk]),
        reverse("api:important-records", args=[reported.project.pk]),
        reverse("api:important-record-detail", args=[record.pk]),
    ):
        assert client.get(url).status_code == 404, url
    assert (
        client.delete(reverse("api:important-record-detail", args=[record.pk])).status_code == 404
    )
    assert ImportantRecord.objects.filter(pk=record.pk).exists()


def test_important_records_admins_edit_merchandisers_read(migrated, api_as, admin, merchandiser):
    url = reverse("api:important-records", args=[migrated.project.pk])
    payload = {"entity": "products", "natural_key": "BAG-00002", "note": "top seller"}

    refused = api_as(merchandiser).post(url, payload, format="json")
    assert refused.status_code == 403
    assert not ImportantRecord.objects.exists()

    created = api_as(admin).post(url, payload, format="json")
    assert created.status_code == 201, created.content
    pk = created.json()["id"]
    assert AuditEvent.objects.filter(action="reconciliation.important_added").count() == 1

    again = api_as(admin).post(url, payload, format="json")
    assert again.status_code == 400 and "already listed" in str(again.json())
    bad = api_as(admin).post(url, {"entity": "planets", "natural_key": "X"}, format="json")
    assert bad.status_code == 400 and "entity" in bad.json()
    blank = api_as(admin).post(url, {"entity": "products", "natural_key": " "}, format="json")
    assert blank.status_code == 400

    listed = api_as(merchandiser).get(url).json()["results"]
    assert [(r["natural_key"], r["note"]) for r in listed] == [("BAG-00002", "top seller")]
    detail = reverse("api:important-record-detail", args=[pk])
    assert api_as(merchandiser).patch(detail, {"note": "x"}, format="json").status_code == 403
    assert api_as(merchandiser).delete(detail).status_code == 403
    changed = api_as(admin).patch(detail, {"note": "still"}, format="json")
    assert changed.status_code == 200 and changed.json()["note"] == "still"
    assert api_as(admin).patch(detail, {}, format="json").status_code == 400
    assert api_as(admin).delete(detail).status_code == 204
    assert not ImportantRecord.objects.exists()
