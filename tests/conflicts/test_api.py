"""The review queue over REST: list and filters, the diff, resolving (400 / 403 / 404 / 409),
deletes, dismissals, bulk rules, and a valid OpenAPI schema."""

from __future__ import annotations

from datetime import timedelta

import pytest
import yaml
from django.core.management import call_command
from django.utils import timezone
from drf_spectacular.drainage import GENERATOR_STATS
from rest_framework.test import APIClient

from apps.conflicts.models import Conflict
from apps.core.roles import Role
from tests.api.helpers import assert_no_secrets, error_text
from tests.conflicts.conftest import (
    delete_conflict,
    edit_conflict,
    member,
    plain_conflict,
    read_target,
    record_maps,
)


def test_list_filters(api_as, project, manager_user):
    old = plain_conflict(project, 1, fields=["price"])
    Conflict.objects.filter(pk=old.pk).update(created_at=timezone.now() - timedelta(days=3))
    plain_conflict(project, 2, fields=["name"])
    plain_conflict(project, 3, entity="customers", fields=["email"])
    plain_conflict(project, 4, status="dismissed")
    client = api_as(manager_user)
    url = f"/api/v1/projects/{project.pk}/conflicts/"

    def source_ids(**params):
        response = client.get(url, params)
        assert response.status_code == 200, response.content
        return [row["source_id"] for row in response.json()["results"]]

    assert source_ids() == ["1", "2", "3"]
    assert source_ids(entity="products") == ["1", "2"]
    assert source_ids(field="price") == ["1"]
    assert source_ids(status="dismissed") == ["4"]
    assert source_ids(older_than="1d") == ["1"]
    row = client.get(url).json()["results"][0]
    assert set(row) >= {"id", "kind", "entity", "fields", "status", "claimed_by", "error"}
    assert "target" not in row  # versions only in the detail
    assert client.get(url, {"status": "closed"}).status_code == 400
    assert "duration" in error_text(client.get(url, {"older_than": "soon"}))


def test_access(api_as, project, outsider):
    conflict = plain_conflict(project)
    anonymous = APIClient()
    assert anonymous.get(f"/api/v1/conflicts/{conflict.pk}/").status_code == 401
    assert anonymous.get(f"/api/v1/projects/{project.pk}/conflicts/").status_code == 401
    client = api_as(outsider)
    assert client.get(f"/api/v1/conflicts/{conflict.pk}/").status_code == 404
    assert client.get(f"/api/v1/projects/{project.pk}/conflicts/").status_code == 404
    body = {"choices": {"name": {"side": "source"}}}
    assert (
        client.post(f"/api/v1/conflicts/{conflict.pk}/resolve/", body, format="json").status_code
        == 404
    )
    manager = api_as(member(project, Role.PROJECT_MANAGER))
    assert manager.get(f"/api/v1/conflicts/{conflict.pk}/").status_code == 200
    for path, data in (
        ("resolve/", body),
        ("resolve-delete/", {"action": "keep"}),
        ("dismiss/", {"reason": "x"}),
    ):
        response = manager.post(f"/api/v1/conflicts/{conflict.pk}/{path}", data, format="json")
        assert response.status_code == 403, path
    bulk = manager.post(
        f"/api/v1/projects/{project.pk}/conflicts/bulk-resolve/",
        {"entity": "products", "side": "source"},
        format="json",
    )
    assert bulk.status_code == 403
    assert api_as(outsider).get("/api/v1/conflicts/99999999999999999999/").status_code == 404


def test_detail_has_the_diff_and_a_version(api_as, migrated, merchandiser):
    conflict = edit_conflict(
        migrated, source={"name": "S", "description": "new"}, target={"name": "T", "weight": "3"}
    )

    response = api_as(merchandiser).get(f"/api/v1/conflicts/{conflict.pk}/")

    assert response.status_code == 200
    body = response.json()
    states = {row["field"]: row["state"] for row in body["diff"]}
    assert states["name"] == "conflict" and states["description"] == "source"
    assert states["weight"] == "target" and states["sku"] == "unchanged"
    assert body["fields"] == ["name"] and len(body["version"]) == 16
    assert body["target"]["name"] == "T" and body["merged"]["description"] == "new"
    assert_no_secrets(response.content, *migrated.target_credentials.values())


def test_resolve(api_as, migrated, merchandiser):
    conflict = edit_conflict(
        migrated, source={"name": "S", "price": "5.00"}, target={"name": "T", "price": "6.00"}
    )
    client = api_as(merchandiser)
    url = f"/api/v1/conflicts/{conflict.pk}/resolve/"
    version = client.get(f"/api/v1/conflicts/{conflict.pk}/").json()["version"]

    missing = client.post(url, {"choices": {"name": {"side": "source"}}}, format="json")
    assert missing.status_code == 400 and "price" in missing.json()
    bad = client.post(
        url,
        {"choices": {"name": {"side": "source"}, "price": {"side": "custom", "value": [1]}}},
        format="json",
    )
    assert bad.status_code == 400 and "price" in bad.json()
    assert client.post(url, {"choices": "all"}, format="json").status_code == 400
    stale_version = client.post(
        url,
        {"choices": {"name": {"side": "source"}, "price": {"side": "target"}}, "version": "x"},
        format="json",
    )
    assert stale_version.status_code == 409 and "reload" in stale_version.json()["detail"]

    done = client.post(
        url,
        {
            "choices": {"name": {"side": "custom", "value": "Typed"}, "price": {"side": "target"}},
            "version": version,
        },
        format="json",
    )
    assert done.status_code == 200, done.content
    assert done.json()["status"] == "resolved"
    assert done.json()["resolution"]["name"] == {"side": "custom", "value": "Typed"}
    after = read_target(migrated, conflict.target_id)
    assert (after["name"], after["price"]) == ("Typed", "6.00")

    again = api_as(member(migrated.project, Role.ADMIN)).post(
        url, {"choices": {"name": {"side": "source"}, "price": {"side": "source"}}}, format="json"
    )
    assert again.status_code == 409
    assert again.json()["detail"].startswith(f"Already resolved by {merchandiser.get_username()}")


def test_stale_target_is_409(api_as, migrated, merchandiser):
    conflict = edit_conflict(migrated, source={"name": "S"}, target={"name": "T"})
    from tests.conflicts.conftest import edit_target

    edit_target(migrated, conflict.target_id, name="T again")

    response = api_as(merchandiser).post(
        f"/api/v1/conflicts/{conflict.pk}/resolve/",
        {"choices": {"name": {"side": "source"}}},
        format="json",
    )

    assert response.status_code == 409 and "reload" in response.json()["detail"]
    detail = api_as(merchandiser).get(f"/api/v1/conflicts/{conflict.pk}/").json()
    assert detail["target"]["name"] == "T again" and "changed on the target" in detail["error"]


def test_resolve_delete_and_dismiss(api_as, migrated, merchandiser):
    first, second, _ = record_maps(migrated)
    gone = delete_conflict(migrated, first)
    other = delete_conflict(migrated, second)
    client = api_as(merchandiser)

    bad = client.post(
        f"/api/v1/conflicts/{gone.pk}/resolve-delete/", {"action": "x"}, format="json"
    )
    assert bad.status_code == 400
    response = client.post(
        f"/api/v1/conflicts/{gone.pk}/resolve-delete/", {"action": "delete"}, format="json"
    )
    assert response.status_code == 200 and response.json()["resolution"] == {"action": "delete"}
    assert read_target(migrated, gone.target_id) is None

    empty = client.post(f"/api/v1/conflicts/{other.pk}/dismiss/", {"reason": ""}, format="json")
    assert empty.status_code == 400
    dismissed = client.post(
        f"/api/v1/conflicts/{other.pk}/dismiss/", {"reason": "coming back"}, format="json"
    )
    assert dismissed.status_code == 200 and dismissed.json()["status"] == "dismissed"
    wrong_kind = client.post(
        f"/api/v1/conflicts/{other.pk}/resolve/", {"choices": {}}, format="json"
    )
    assert wrong_kind.status_code == 400 and "not an edit conflict" in error_text(wrong_kind)


def test_bulk_resolve(api_as, migrated, merchandiser):
    first, second, third = record_maps(migrated)
    conflicts = [
        edit_conflict(migrated, rm, source={"name": f"S{rm.pk}"}, target={"name": f"T{rm.pk}"})
        for rm in (first, second, third)
    ]
    client = api_as(merchandiser)
    url = f"/api/v1/projects/{migrated.project.pk}/conflicts/bulk-resolve/"
    rule = {"entity": "products", "field": "name", "side": "source"}

    preview = client.post(url, {**rule, "preview": True}, format="json").json()
    assert (preview["matched"], preview["resolvable"], preview["resolved"]) == (3, 3, [])
    assert Conflict.objects.filter(status="open").count() == 3

    ids = [conflicts[0].pk, conflicts[1].pk]
    result = client.post(url, {**rule, "conflict_ids": ids}, format="json")
    assert result.status_code == 200, result.content
    assert sorted(result.json()["resolved"]) == ids and result.json()["failed"] == []
    assert read_target(migrated, conflicts[0].target_id)["name"] == f"S{first.pk}"
    assert Conflict.objects.get(pk=conflicts[2].pk).status == "open"
    assert client.post(url, {**rule, "side": "custom"}, format="json").status_code == 400


@pytest.mark.django_db
def test_schema_is_valid_with_the_review_queue(tmp_path):
    GENERATOR_STATS.reset()
    target = tmp_path / "schema.yaml"

    call_command("spectacular", "--validate", "--fail-on-warn", "--file", str(target))

    schema = yaml.safe_load(target.read_text())
    paths = schema["paths"]
    for path in (
        "/api/v1/projects/{project_id}/conflicts/",
        "/api/v1/projects/{project_id}/conflicts/bulk-resolve/",
        "/api/v1/conflicts/{id}/",
        "/api/v1/conflicts/{id}/resolve/",
        "/api/v1/conflicts/{id}/resolve-delete/",
        "/api/v1/conflicts/{id}/dismiss/",
    ):
        assert path in paths, path
    assert set(paths["/api/v1/conflicts/{id}/resolve/"]["post"]["responses"]) >= {
        "200",
        "400",
        "403",
        "404",
        "409",
        "503",
    }
