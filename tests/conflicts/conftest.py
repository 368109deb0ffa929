"""Fixtures for the review queue: a migrated rehearsal (three products on the BigCommerce
sandbox) and Conflict rows built as the engine builds them, from the RecordMap and a target
record edited through the target connector."""

from __future__ import annotations

from typing import Any

import pytest
from rest_framework.test import APIClient

from apps.conflicts.models import Conflict
from apps.core.roles import Role
from apps.runs import threeway
from apps.runs.engine import run_inline
from apps.runs.models import RecordMap
from apps.runs.services import start_run
from apps.stores.connectors.base import WriteItem
from apps.stores.connectors.canonical import content_hash
from apps.stores.services import build_connector
from tests.factories import MembershipFactory
from tests.support.rehearsal import Rehearsal, make_rehearsal


@pytest.fixture
def migrated(sandbox_http) -> Rehearsal:
    """Three products migrated to the target sandbox by a real full run."""
    rehearsal = make_rehearsal(sandbox_http, products=3)
    run = run_inline(start_run(rehearsal.project, kind="full").pk)
    assert run.status == "succeeded", run.error
    rehearsal.run = run
    return rehearsal


def member(project: Any, role: str) -> Any:
    return MembershipFactory(project=project, role=role).user


@pytest.fixture
def merchandiser(migrated):
    return member(migrated.project, Role.MERCHANDISER)


def target_connector(rehearsal: Rehearsal):
    return build_connector(rehearsal.project.target_store)


def read_target(rehearsal: Rehearsal, target_id: str) -> dict[str, Any] | None:
    connector = target_connector(rehearsal)
    raws = connector.read_by_ids("products", [target_id])
    return connector.to_canonical("products", raws[0]) if raws else None


def edit_target(rehearsal: Rehearsal, target_id: str, **changes: Any) -> dict[str, Any]:
    """Change a product on the target as a merchandiser would there; its canonical form after."""
    connector = target_connector(rehearsal)
    [raw] = connector.read_by_ids("products", [target_id])
    record = {**connector.to_canonical("products", raw), **changes}
    [result] = connector.update(
        "products",
        [
            WriteItem(
                ref="edit",
                target_id=target_id,
                payload=connector.from_canonical("products", record),
            )
        ],
    )
    assert result.ok, result.error
    return read_target(rehearsal, target_id)


def record_maps(rehearsal: Rehearsal) -> list[RecordMap]:
    return list(
        RecordMap.objects.filter(project=rehearsal.project, entity="products").order_by("id")
    )


def edit_conflict(
    rehearsal: Rehearsal,
    record_map: RecordMap | None = None,
    *,
    source: dict[str, Any],
    target: dict[str, Any],
) -> Conflict:
    """Edit the record on both sides (the target for real, the source as the delta would read
    it) and open the conflict the engine would open."""
    record_map = record_map or record_maps(rehearsal)[0]
    base_target = record_map.target_canonical or read_target(rehearsal, record_map.target_id)
    target_now = edit_target(rehearsal, record_map.target_id, **target)
    base = record_map.canonical
    source_now = {**base, **source}
    merge = threeway.merge(
        "products",
        base=base,
        source=source_now,
        source_resolved=source_now,
        base_target=base_target,
        target=target_now,
    )
    assert merge.unresolved, "the edits should conflict"
    return Conflict.objects.create(
        project=rehearsal.project,
        run=rehearsal.run,
        kind="edit",
        entity="products",
        source_id=record_map.source_id,
        target_id=record_map.target_id,
        natural_key=record_map.natural_key,
        base=base,
        source=source_now,
        source_resolved=source_now,
        target=target_now,
        merged=merge.merged,
        fields=merge.unresolved,
        policy="manual",
        source_hash=content_hash(source_now),
        target_hash=content_hash(target_now),
    )


def delete_conflict(rehearsal: Rehearsal, record_map: RecordMap | None = None) -> Conflict:
    record_map = record_map or record_maps(rehearsal)[0]
    return Conflict.objects.create(
        project=rehearsal.project,
        run=rehearsal.run,
        kind="delete",
        entity="products",
        source_id=record_map.source_id,
        target_id=record_map.target_id,
        natural_key=record_map.natural_key,
        base=record_map.canonical,
        target=read_target(rehearsal, record_map.target_id),
        policy="review",
    )


def plain_conflict(project: Any, n: int = 1, **fields: Any) -> Conflict:
    """A conflict row without a store behind it (list pages, permissions, escaping)."""
    values = {
        "project": project,
        "kind": "edit",
        "entity": "products",
        "source_id": str(n),
        "target_id": str(100 + n),
        "natural_key": f"SKU-{n}",
        "base": {"sku": f"SKU-{n}", "name": "Base", "price": "10.00"},
        "source": {"sku": f"SKU-{n}", "name": "Source", "price": "10.00"},
        "source_resolved": {"sku": f"SKU-{n}", "name": "Source", "price": "10.00"},
        "target": {"sku": f"SKU-{n}", "name": "Target", "price": "10.00"},
        "merged": {"sku": f"SKU-{n}", "name": "Target", "price": "10.00"},
        "fields": ["name"],
        "policy": "manual",
        **fields,
    }
    return Conflict.objects.create(**values)


@pytest.fixture
def api_as():
    def make(user: Any) -> APIClient:
        client = APIClient()
        client.force_authenticate(user)
        return client

    return make
