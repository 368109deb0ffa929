"""Every write endpoint answers malformed or mistyped bodies with a 4xx and a message."""

from __future__ import annotations

import pytest

from apps.core.models import AuditEvent
from tests.factories import StoreFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def endpoints(project, admin_user):
    store = StoreFactory(created_by=admin_user)
    return [
        ("post", "/api/v1/stores/"),
        ("patch", f"/api/v1/stores/{store.pk}/"),
        ("post", "/api/v1/projects/"),
        ("post", f"/api/v1/projects/{project.pk}/members/"),
        ("post", f"/api/v1/projects/{project.pk}/runs/"),
    ]


@pytest.mark.parametrize(
    "raw",
    ['{"name": "x",', "not json", '{"kind": NaN}', "\xff\xfe", "[1, 2", '"just a string"', "[]"],
)
def test_malformed_or_non_object_json_is_400(client_for, admin_user, endpoints, raw):
    client = client_for(admin_user)
    for method, url in endpoints:
        response = getattr(client, method)(url, data=raw, content_type="application/json")
        assert response.status_code == 400, (method, url, response.content)
        assert response.json(), (method, url)
    assert not AuditEvent.objects.exists()


def test_unsupported_media_type_is_415(client_for, admin_user, endpoints):
    client = client_for(admin_user)
    for method, url in endpoints:
        response = getattr(client, method)(url, data="kind=full", content_type="text/plain")
        assert response.status_code == 415
        assert "Unsupported media type" in response.json()["detail"]


def test_form_encoded_bodies_work_too(client_for, project, admin_user):
    response = client_for(admin_user).post(f"/api/v1/projects/{project.pk}/runs/", {"kind": "full"})
    assert response.status_code == 201


def test_every_endpoint_refuses_anonymous_with_401(api, project, run_with_progress):
    run = run_with_progress.pk
    calls = [
        ("get", "/api/v1/stores/"),
        ("post", "/api/v1/stores/"),
        ("get", f"/api/v1/stores/{project.source_store_id}/"),
        ("patch", f"/api/v1/stores/{project.source_store_id}/"),
        ("get", "/api/v1/projects/"),
        ("post", "/api/v1/projects/"),
        ("get", f"/api/v1/projects/{project.pk}/"),
        ("get", f"/api/v1/projects/{project.pk}/members/"),
        ("post", f"/api/v1/projects/{project.pk}/members/"),
        ("get", f"/api/v1/projects/{project.pk}/runs/"),
        ("post", f"/api/v1/projects/{project.pk}/runs/"),
        ("get", f"/api/v1/runs/{run}/"),
        ("post", f"/api/v1/runs/{run}/cancel/"),
        ("get", f"/api/v1/runs/{run}/failures/"),
        ("get", f"/api/v1/runs/{run}/batches/"),
    ]
    for method, url in calls:
        response = getattr(api, method)(url, {}, format="json")
        assert response.status_code == 401, (method, url)
        assert response["WWW-Authenticate"] == "Token"
    assert not AuditEvent.objects.exists()
