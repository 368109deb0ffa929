"""Invariant 7: no answer of the API carries a store's credentials or their ciphertext."""

from __future__ import annotations

import pytest

from tests.api.helpers import assert_no_secrets

pytestmark = pytest.mark.django_db


def test_no_read_endpoint_returns_credentials(client_for, project, admin_user, run_with_progress):
    ciphertexts = [
        project.source_store.credentials_encrypted,
        project.target_store.credentials_encrypted,
    ]
    client = client_for(admin_user)
    urls = [
        "/api/v1/stores/",
        f"/api/v1/stores/{project.source_store_id}/",
        f"/api/v1/stores/{project.target_store_id}/",
        "/api/v1/projects/",
        f"/api/v1/projects/{project.pk}/",
        f"/api/v1/projects/{project.pk}/members/",
        f"/api/v1/projects/{project.pk}/runs/",
        f"/api/v1/runs/{run_with_progress.pk}/",
        f"/api/v1/runs/{run_with_progress.pk}/failures/",
        f"/api/v1/runs/{run_with_progress.pk}/batches/",
        "/api/schema/",
    ]
    for url in urls:
        response = client.get(url)
        assert response.status_code == 200, url
        assert_no_secrets(response.content, *ciphertexts)
        assert b"credentials_encrypted" not in response.content, url
