from __future__ import annotations

import pytest
from rest_framework.test import APIClient

from apps.runs.choices import RunKind, RunStatus
from apps.runs.engine import run_inline
from apps.runs.services import start_run
from apps.sandbox.demo_catalog import seed_store
from tests.support.rehearsal import Rehearsal, make_rehearsal

ENTITIES = ["categories", "brands", "products", "posts"]


@pytest.fixture
def migrated(sandbox_http) -> Rehearsal:
    """A WooCommerce shop (category tree, brands, products, posts) fully migrated to a
    BigCommerce sandbox."""
    rehearsal = make_rehearsal(sandbox_http, products=0)
    seed_store(rehearsal.source, 24, categories=True, brands=True, posts=5)
    rehearsal.project.entities = ENTITIES
    rehearsal.project.save()
    run = run_inline(start_run(rehearsal.project, kind=RunKind.FULL).pk)
    assert run.status == RunStatus.SUCCEEDED, run.error
    return rehearsal


@pytest.fixture
def client_for():
    def make(user) -> APIClient:
        client = APIClient()
        client.force_authenticate(user)
        return client

    return make
