"""A whole WooCommerce store — category tree, brands, products, customers, orders, blog posts —
into BigCommerce, over both sandboxes' HTTP APIs, with every reference translated."""

from __future__ import annotations

from collections import Counter

import pytest

from apps.runs.choices import Action, RunKind, RunStatus
from apps.runs.engine import run_inline
from apps.runs.models import RecordMap
from apps.runs.services import start_run
from apps.sandbox.demo_catalog import seed_store
from apps.stores.connectors.canonical import ENTITIES
from apps.stores.services import build_connector
from tests.support.rehearsal import make_rehearsal

COUNTS = {"products": 60, "customers": 40, "orders": 80, "posts": 8}


@pytest.fixture
def store(sandbox_http):
    rehearsal = make_rehearsal(sandbox_http, products=0)
    seed_store(
        rehearsal.source,
        COUNTS["products"],
        categories=True,
        brands=True,
        customers=COUNTS["customers"],
        orders=COUNTS["orders"],
        posts=COUNTS["posts"],
        messy=True,
    )
    rehearsal.project.entities = list(ENTITIES)
    rehearsal.project.save()
    return rehearsal


def mapped(project, entity: str) -> dict[str, str]:
    return dict(
        RecordMap.objects.filter(project=project, entity=entity).values_list(
            "source_id", "target_id"
        )
    )


def canonical_all(connector, entity: str) -> dict[str, dict]:
    records, cursor = {}, None
    while True:
        page = connector.read_page(entity, cursor, 100)
        for raw in page.records:
            records[connector.record_id(raw)] = connector.to_canonical(entity, raw)
        if not page.records or (page.next_cursor is None and entity == "categories"):
            return records
        cursor = page.next_cursor or {"page": (cursor or {"page": 1})["page"] + 1}
        if len(page.records) < 100:
            return records


def test_a_whole_store_moves_with_its_references(store):
    project = store.project
    run = run_inline(start_run(project, kind=RunKind.FULL).pk)
    assert run.status in (RunStatus.SUCCEEDED, RunStatus.PARTIALLY_FAILED), run.error
    assert not run.batches.exclude(error="").filter(status="failed").exists()

    source = build_connector(project.source_store)
    target = build_connector(project.target_store)
    # Every source record of every entity ended with exactly one outcome.
    for entity in ENTITIES:
        count = source.count(entity)
        assert run.outcomes.filter(entity=entity).count() == count, entity
    actions = Counter(run.outcomes.values_list("entity", "action"))

    # The category tree arrives whole, same paths.
    src_categories = canonical_all(source, "categories")
    dst_categories = canonical_all(target, "categories")
    assert sorted(c["path"] for c in src_categories.values()) == sorted(
        c["path"] for c in dst_categories.values()
    )
    categories = mapped(project, "categories")
    for source_id, target_id in categories.items():
        assert dst_categories[target_id]["path"] == src_categories[source_id]["path"]

    # Products point at the mapped categories and brand.
    brands = mapped(project, "brands")
    products = mapped(project, "products")
    assert len(products) == COUNTS["products"]
    with_categories = 0
    for source_id, target_id in list(products.items())[:20]:
        [src] = [
            source.to_canonical("products", r) for r in source.read_by_ids("products", [source_id])
        ]
        [dst] = [
            target.to_canonical("products", r) for r in target.read_by_ids("products", [target_id])
        ]
        assert dst["categories"] == sorted(categories[c] for c in src["categories"])
        assert dst["brand"] == (brands[src["brand"]] if src["brand"] else None)
        with_categories += bool(src["categories"])
    assert with_categories, "the demo products should carry categories"

    # Messy customers: duplicates (same email after cleansing) are documented exclusions,
    # invalid emails fail alone with their reason.
    excluded = run.outcomes.filter(entity="customers", action=Action.SKIPPED)
    assert excluded.exists() and all(o.reason.startswith("excluded: same email") for o in excluded)
    # ...and an excluded duplicate stands for the customer that kept the email.
    assert all(o.target_id in mapped(project, "customers").values() for o in excluded)
    for outcome in run.outcomes.filter(entity="customers", action=Action.FAILED):
        assert "email" in outcome.reason

    # Orders reference the mapped customer (or are guests) and the mapped products.
    customers = mapped(project, "customers")
    orders = mapped(project, "orders")
    assert actions[("orders", Action.CREATED)] == len(orders) > 0
    for source_id, target_id in orders.items():
        [src] = [
            source.to_canonical("orders", r) for r in source.read_by_ids("orders", [source_id])
        ]
        [dst] = [
            target.to_canonical("orders", r) for r in target.read_by_ids("orders", [target_id])
        ]
        assert dst["reference"] == src["reference"]
        stands_for = dict(excluded.values_list("source_id", "target_id"))
        expected = customers.get(src["customer"]) or stands_for.get(src["customer"])
        assert dst["customer"] == (expected if src["customer"] else None)
        assert [line["product"] for line in dst["lines"]] == [
            products.get(line["product"]) for line in src["lines"]
        ]
    assert len(mapped(project, "posts")) == COUNTS["posts"]


def test_a_second_run_of_a_whole_store_writes_nothing(store):
    first = run_inline(start_run(store.project, kind=RunKind.FULL).pk)
    second = run_inline(start_run(store.project, kind=RunKind.FULL).pk)
    actions = Counter(second.outcomes.values_list("action", flat=True))
    assert actions[Action.CREATED] == actions[Action.UPDATED] == 0, actions
    assert (
        actions[Action.UNCHANGED]
        == first.outcomes.filter(action__in=[Action.CREATED, Action.UPDATED]).count()
    )
