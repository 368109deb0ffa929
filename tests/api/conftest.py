"""Fixtures for the REST API tests: clients, runs with batches and outcomes, secret values."""

from __future__ import annotations

from typing import Any

import pytest
from rest_framework.test import APIClient

from apps.runs.choices import Action, BatchStatus
from apps.runs.models import EntityBatch, RecordOutcome, Run
from tests.api.helpers import make_run


@pytest.fixture
def api() -> APIClient:
    return APIClient()


@pytest.fixture
def client_for():
    def make(user: Any) -> APIClient:
        client = APIClient()
        client.force_authenticate(user)
        return client

    return make


@pytest.fixture
def run_with_progress(project) -> Run:
    """A running run: products planned at 10 records in 3 batches, 2 done, some failures."""
    run = make_run(
        project,
        plan={"order": ["products"], "entities": {"products": {"total": 10, "batches": 3}}},
    )
    done = dict(status=BatchStatus.DONE, read=4, created=2, updated=1, unchanged=0, failed=1)
    b1 = EntityBatch.objects.create(run=run, entity="products", seq=1, **done)
    EntityBatch.objects.create(run=run, entity="products", seq=2, **done)
    EntityBatch.objects.create(run=run, entity="products", seq=3, status=BatchStatus.RUNNING)
    RecordOutcome.objects.create(
        run=run, batch=b1, entity="products", source_id="11", action=Action.CREATED
    )
    for source_id, entity in (("12", "products"), ("13", "products"), ("c1", "categories")):
        RecordOutcome.objects.create(
            run=run,
            batch=b1,
            entity=entity,
            source_id=source_id,
            natural_key=f"SKU-{source_id}",
            action=Action.FAILED,
            reason="price: not a number",
            payload_digest="d" * 64,
        )
    return run
