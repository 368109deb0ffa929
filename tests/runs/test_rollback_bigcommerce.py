"""The product path of a rollback from BigCommerce into WooCommerce: products with variants
created, updated and deleted by a delta come back exactly (WooCommerce variations included)."""

from __future__ import annotations

from collections import Counter
from typing import Any

import pytest

from apps.projects.services import create_project
from apps.runs.choices import Action, RunKind, RunStatus
from apps.runs.engine import run_inline
from apps.runs.models import RecordMap, Run
from apps.runs.services import start_run
from apps.sandbox.models import Flavor
from apps.sandbox.services import create_sandbox_store, sandbox_base_url
from apps.stores.connectors.base import WriteItem
from apps.stores.connectors.canonical import content_hash
from apps.stores.models import Platform
from apps.stores.services import build_connector, create_store
from tests.factories import UserFactory
from tests.support.rehearsal import TESTSERVER

MAP_FIELDS = ("natural_key", "status", "source_hash", "canonical", "target_hash", "last_run_id")


def product(n: int, *, variants: bool) -> dict[str, Any]:
    sizes = ["S", "M", "L"] if variants else []
    return {
        "sku": f"BC-{n:03d}",
        "name": f"Product {n}",
        "slug": f"product-{n}",
        "description": f"<p>Product {n}.</p>",
        "status": "active",
        "price": f"{10 + n}.00",
        "sale_price": None,
        "stock": None if variants else 4,
        "weight": "1.5",
        "categories": [],
        "brand": None,
        "images": [],
        "custom_fields": [{"name": "Material", "value": "Linen"}],
        "options": [{"name": "Size", "values": sizes}] if variants else [],
        "variants": [
            {
                "sku": f"BC-{n:03d}-{size}",
                "price": f"{10 + n}.00",
                "sale_price": None,
                "stock": 3,
                "options": {"Size": size},
            }
            for size in sizes
        ],
    }


@pytest.fixture
def project(sandbox_http):
    user = UserFactory()
    stores = []
    for slug, flavor, platform in (
        ("bcsrc", Flavor.BIGCOMMERCE, Platform.SANDBOX_BIGCOMMERCE),
        ("wcdst", Flavor.WOOCOMMERCE, Platform.SANDBOX_WOOCOMMERCE),
    ):
        sandbox, credentials = create_sandbox_store(slug=slug, name=slug, flavor=flavor)
        stores.append(
            create_store(
                user=user,
                name=slug,
                platform=platform,
                base_url=sandbox_base_url(sandbox, TESTSERVER),
                credentials=credentials,
            )
        )
    project = create_project(
        user=user, name="BC to WC", source_store=stores[0], target_store=stores[1]
    )
    project.entities = ["products"]
    project.delete_policies = {"products": "propagate"}
    project.save()
    source = build_connector(project.source_store)
    try:
        results = source.create(
            "products",
            [
                WriteItem(
                    ref=str(n),
                    payload=source.from_canonical("products", product(n, variants=n % 2 == 0)),
                )
                for n in range(8)
            ],
        )
    finally:
        source.close()
    assert all(r.ok for r in results), [r.error for r in results if not r.ok]
    return project


def run(project, kind=RunKind.DELTA, **options) -> Run:
    return run_inline(start_run(project, kind=kind, options=options or None).pk)


def target_checksums(project) -> dict[str, str]:
    target = build_connector(project.target_store)
    try:
        records, page = [], 1
        while True:
            found = target.read_page("products", {"page": page, "per_page": 100}, 100)
            records.extend(found.records)
            if found.next_cursor is None or not found.records:
                break
            page += 1
        forms = [target.to_canonical("products", raw) for raw in records]
    finally:
        target.close()
    checksums = {form["sku"]: content_hash(form) for form in forms}
    assert len(checksums) == len(forms), "a SKU twice on the target"
    return checksums


def test_rollback_restores_woocommerce_products_with_their_variations(project):
    full = run(project, RunKind.FULL)
    assert full.status == RunStatus.SUCCEEDED, full.error
    before = target_checksums(project)
    maps_before = {
        m["source_id"]: m
        for m in RecordMap.objects.filter(project=project).values(
            "source_id", "target_id", *MAP_FIELDS
        )
    }
    assert len(before) == 8

    source = build_connector(project.source_store)
    try:
        by_sku = {raw["sku"]: raw for raw in source.read_page("products", None, 100).records}
        variable, simple, doomed = by_sku["BC-002"], by_sku["BC-001"], by_sku["BC-003"]
        changed = product(2, variants=True)
        changed["name"] = "Renamed at the source"
        changed["variants"][0]["price"] = "99.00"
        edited = {**product(1, variants=False), "description": "<p>Edited.</p>", "stock": 9}
        results = source.update(
            "products",
            [
                WriteItem(
                    ref="v",
                    target_id=str(variable["id"]),
                    payload=source.from_canonical("products", changed),
                    current=variable,
                ),
                WriteItem(
                    ref="s",
                    target_id=str(simple["id"]),
                    payload=source.from_canonical("products", edited),
                    current=simple,
                ),
            ],
        )
        assert all(r.ok for r in results), [r.error for r in results]
        assert source.create(
            "products",
            [
                WriteItem(
                    ref="n", payload=source.from_canonical("products", product(50, variants=True))
                )
            ],
        )[0].ok
        assert source.delete("products", [str(doomed["id"])])[0].ok
    finally:
        source.close()

    delta = run(project, deletes=True)
    assert delta.status == RunStatus.SUCCEEDED, delta.error
    actions = Counter(delta.outcomes.values_list("action", flat=True))
    assert (actions[Action.CREATED], actions[Action.UPDATED], actions[Action.DELETED]) == (1, 2, 1)
    after_delta = target_checksums(project)
    assert set(after_delta) == set(before) - {"BC-003"} | {"BC-050"}
    assert after_delta["BC-002"] != before["BC-002"] and after_delta["BC-001"] != before["BC-001"]

    undo = run_inline(
        start_run(project, kind=RunKind.ROLLBACK, parent=delta, rollback_approved=True).pk
    )

    assert undo.status == RunStatus.SUCCEEDED, list(undo.outcomes.values_list("reason", flat=True))
    assert target_checksums(project) == before
    undone = Counter(undo.outcomes.values_list("action", flat=True))
    assert (undone[Action.DELETED], undone[Action.UPDATED], undone[Action.CREATED]) == (1, 2, 1)
    maps_now = {
        m["source_id"]: m
        for m in RecordMap.objects.filter(project=project).values(
            "source_id", "target_id", *MAP_FIELDS
        )
    }
    assert set(maps_now) == set(maps_before)
    for source_id, row in maps_before.items():
        assert {f: maps_now[source_id][f] for f in MAP_FIELDS} == {f: row[f] for f in MAP_FIELDS}
    # The next delta re-applies the source's changes.
    again = run(project, deletes=True)
    assert again.status == RunStatus.SUCCEEDED, again.error
    assert target_checksums(project) == after_delta
