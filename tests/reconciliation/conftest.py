"""A project migrated by a real full run between the in-process sandboxes, and helpers to play
a merchant on the target (edit, delete, create records there directly)."""

from __future__ import annotations

from typing import Any

import pytest
from rest_framework.test import APIClient

from apps.runs.choices import RunKind, RunStatus
from apps.runs.engine import run_inline
from apps.runs.models import RecordMap, Run
from apps.runs.services import start_run
from apps.stores.connectors.base import WriteItem
from apps.stores.services import build_connector
from tests.factories import MembershipFactory
from tests.support.rehearsal import Rehearsal, make_rehearsal

PRODUCTS = 12


@pytest.fixture
def migrated(sandbox_http) -> Rehearsal:
    rehearsal = make_rehearsal(sandbox_http, products=PRODUCTS)
    run = run_inline(start_run(rehearsal.project, kind=RunKind.FULL).pk)
    assert run.status == RunStatus.SUCCEEDED, run.error
    return rehearsal


def verify(rehearsal: Rehearsal) -> Run:
    run = run_inline(start_run(rehearsal.project, kind=RunKind.VERIFY).pk)
    return run


def product_maps(rehearsal: Rehearsal) -> list[RecordMap]:
    return list(
        RecordMap.objects.filter(project=rehearsal.project, entity="products").order_by("id")
    )


def member(project: Any, role: str) -> Any:
    return MembershipFactory(project=project, role=role).user


@pytest.fixture
def api_as():
    def make(user: Any) -> APIClient:
        client = APIClient()
        client.force_authenticate(user)
        return client

    return make


def target_connector(rehearsal: Rehearsal):
    return build_connector(rehearsal.project.target_store)


def edit_target(rehearsal: Rehearsal, target_id: str, change) -> dict[str, Any]:
    """Change a product on the target as a merchant would there: `change` edits its canonical
    form in place. Returns the canonical form after the write."""
    connector = target_connector(rehearsal)
    [raw] = connector.read_by_ids("products", [target_id])
    record = connector.to_canonical("products", raw)
    change(record)
    [result] = connector.update(
        "products",
        [
            WriteItem(
                ref="edit",
                target_id=target_id,
                payload=connector.from_canonical("products", record),
                current=raw,
            )
        ],
    )
    assert result.ok, result.error
    [raw] = connector.read_by_ids("products", [target_id])
    return connector.to_canonical("products", raw)
