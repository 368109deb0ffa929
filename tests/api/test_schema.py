from __future__ import annotations

import pytest
import yaml
from django.core.management import call_command
from drf_spectacular.drainage import GENERATOR_STATS

pytestmark = pytest.mark.django_db


def test_schema_validates_without_warnings(tmp_path):
    GENERATOR_STATS.reset()  # warnings from earlier generations in this process are not ours
    target = tmp_path / "schema.yaml"

    call_command("spectacular", "--validate", "--fail-on-warn", "--file", str(target))

    schema = yaml.safe_load(target.read_text())
    paths = schema["paths"]
    for path in (
        "/api/v1/stores/",
        "/api/v1/stores/{id}/",
        "/api/v1/projects/",
        "/api/v1/projects/{id}/",
        "/api/v1/projects/{project_id}/members/",
        "/api/v1/projects/{project_id}/runs/",
        "/api/v1/runs/{id}/",
        "/api/v1/runs/{id}/cancel/",
        "/api/v1/runs/{id}/failures/",
        "/api/v1/runs/{id}/batches/",
    ):
        assert path in paths, path
    components = schema["components"]["schemas"]
    # Credentials are accepted on write and absent from every answer.
    assert "credentials" in components["StoreRequest"]["properties"]
    assert "credentials" not in components["Store"]["properties"]
    assert "has_credentials" in components["Store"]["properties"]
    assert set(paths["/api/v1/projects/{project_id}/runs/"]["post"]["responses"]) >= {
        "201",
        "403",
        "404",
        "409",
    }


def test_schema_and_docs_are_served(client):
    assert client.get("/api/schema/").status_code == 200
    response = client.get("/api/docs/")
    assert response.status_code == 200
    assert b"swagger" in response.content.lower()
