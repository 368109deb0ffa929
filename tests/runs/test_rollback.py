"""Rolling back a delta that created, updated and deleted records (WooCommerce → BigCommerce):
the target comes back exactly (the checksum of every record), RecordMap comes back row for row,
and the next delta re-applies the source's changes."""

from __future__ import annotations

from collections import Counter
from datetime import timedelta
from typing import Any

import pytest
from django.utils import timezone

from apps.runs.choices import Action, JournalOp, RunKind, RunStatus
from apps.runs.engine import run_inline
from apps.runs.models import JournalEntry, RecordMap, Run
from apps.runs.services import start_run
from apps.sandbox.demo_catalog import seed_store
from apps.sandbox.models import SandboxObject
from apps.stores.connectors.canonical import NATURAL_KEY, content_hash
from apps.stores.services import build_connector
from tests.support.rehearsal import make_rehearsal

ENTITIES = ["categories", "products", "customers"]
MAP_COMPARED = ("natural_key", "status", "source_hash", "canonical", "last_run_id")


def run(project, kind=RunKind.DELTA, **options) -> Run:
    return run_inline(start_run(project, kind=kind, options=options or None).pk)


def rollback(run_to_undo: Run) -> Run:
    started = start_run(
        run_to_undo.project, kind=RunKind.ROLLBACK, parent=run_to_undo, rollback_approved=True
    )
    return run_inline(started.pk)


def read_all(connector, entity: str) -> list[dict[str, Any]]:
    records, cursor = [], None
    while True:
        page = connector.read_page(entity, cursor, 100)
        records.extend(page.records)
        if page.next_cursor is None or not page.records:
            return records
        cursor = page.next_cursor


def target_snapshot(project) -> dict[str, dict[str, str]]:
    """Per entity: natural key → checksum of the target's canonical record, with references
    named by the referenced record's natural key (a re-created record has a new id)."""
    target = build_connector(project.target_store)
    try:
        raw = {entity: read_all(target, entity) for entity in ENTITIES}
        forms = {
            entity: {target.record_id(r): target.to_canonical(entity, r) for r in records}
            for entity, records in raw.items()
        }
    finally:
        target.close()
    keys = {
        entity: {tid: form[NATURAL_KEY[entity]] for tid, form in records.items()}
        for entity, records in forms.items()
    }
    snapshot: dict[str, dict[str, str]] = {}
    for entity, records in forms.items():
        by_key = {}
        for form in records.values():
            form = dict(form)
            if entity == "categories" and form.get("parent"):
                form["parent"] = keys["categories"][form["parent"]]
            if entity == "products":
                form["categories"] = sorted(keys["categories"][c] for c in form["categories"])
            key = form[NATURAL_KEY[entity]]
            assert key not in by_key, f"duplicate {entity} {key} on the target"
            by_key[key] = content_hash(form)
        snapshot[entity] = by_key
    return snapshot


def map_rows(project) -> dict[tuple[str, str], dict[str, Any]]:
    return {
        (row["entity"], row["source_id"]): row
        for row in RecordMap.objects.filter(project=project).values(
            "entity", "source_id", "target_id", "target_hash", "target_canonical", *MAP_COMPARED
        )
    }


@pytest.fixture
def store(sandbox_http):
    rehearsal = make_rehearsal(sandbox_http, products=0)
    seed_store(rehearsal.source, 24, categories=True, customers=10)
    project = rehearsal.project
    project.entities = ENTITIES
    project.delete_policies = {entity: "propagate" for entity in ENTITIES}
    project.save()
    full = run(project, RunKind.FULL)
    assert full.status == RunStatus.SUCCEEDED, full.error
    return rehearsal


def mapped(project, entity: str) -> list[RecordMap]:
    return list(RecordMap.objects.filter(project=project, entity=entity).order_by("id"))


def change_the_source(store) -> dict[str, Any]:
    """Create, update and delete a product (one with variants among the updates), a customer
    and a category at the source."""
    project = store.project
    products = mapped(project, "products")
    source = build_connector(project.source_store)
    try:
        raws = source.read_by_ids("products", [m.source_id for m in products])
    finally:
        source.close()
    variable = next(r for r in raws if r.get("type") == "variable" and r.get("variations"))
    simple = [r for r in raws if r.get("type") != "variable"]
    used_categories = {str(c["id"]) for r in raws for c in r.get("categories") or []}
    categories = mapped(project, "categories")
    leaf = next(
        m
        for m in reversed(categories)
        if m.source_id not in used_categories
        and not any(
            (c.canonical.get("parent") or "") == m.source_id for c in categories if c is not m
        )
    )
    customers = mapped(project, "customers")
    with store.woo() as woo:
        # products: create, update (a variable one: name and a variation's price), delete
        assert woo.post(
            "products", json={"name": "Rollback probe", "sku": "RB-NEW-1", "regular_price": "9.00"}
        ).is_success
        assert woo.put(
            f"products/{variable['id']}", json={"name": "Renamed before the rollback"}
        ).is_success
        variation = variable["variations"][0]
        assert woo.put(
            f"products/{variable['id']}/variations/{variation}", json={"regular_price": "77.00"}
        ).is_success
        assert woo.put(f"products/{simple[0]['id']}", json={"description": "<p>new</p>"})
        assert woo.delete(f"products/{simple[1]['id']}", params={"force": "true"}).is_success
        # customers
        assert woo.post(
            "customers",
            json={"email": "rollback.probe@example.com", "first_name": "Probe", "last_name": "R"},
        ).is_success
        assert woo.put(
            f"customers/{customers[0].source_id}", json={"first_name": "Changed"}
        ).is_success
        assert woo.delete(
            f"customers/{customers[1].source_id}", params={"force": "true"}
        ).is_success
        # categories
        assert woo.post("products/categories", json={"name": "Rollback aisle"}).is_success
        assert woo.put(
            f"products/categories/{categories[0].source_id}",
            json={"description": "<p>Changed at the source.</p>"},
        ).is_success
        assert woo.delete(
            f"products/categories/{leaf.source_id}", params={"force": "true"}
        ).is_success
    return {"variable": str(variable["id"]), "deleted_product": str(simple[1]["id"])}


def test_rollback_restores_the_target_and_the_map_exactly(store):
    project = store.project
    before = target_snapshot(project)
    maps_before = map_rows(project)
    change_the_source(store)

    delta = run(project, deletes=True)
    assert delta.status == RunStatus.SUCCEEDED, delta.error
    actions = Counter(delta.outcomes.values_list("entity", "action"))
    for entity in ENTITIES:
        for action in (Action.CREATED, Action.UPDATED, Action.DELETED):
            assert actions[(entity, action)] >= 1, (entity, action, actions)
    after_delta = target_snapshot(project)
    assert after_delta != before

    undo = rollback(delta)

    assert undo.status == RunStatus.SUCCEEDED, (
        undo.error,
        list(undo.outcomes.filter(action=Action.FAILED).values_list("reason", flat=True)),
    )
    # Every touched record has its checksum back; nothing extra is left on the target.
    assert target_snapshot(project) == before
    # One outcome per journalled record, with what was done.
    touched = set(JournalEntry.objects.filter(run=delta).values_list("entity", "source_id"))
    assert set(undo.outcomes.values_list("entity", "source_id")) == touched
    undone = Counter(undo.outcomes.values_list("action", flat=True))
    assert undone[Action.DELETED] >= 3 and undone[Action.UPDATED] >= 3
    assert undone[Action.CREATED] >= 3  # re-created
    # RecordMap back row for row; a re-created record points at its new target record.
    maps_now = map_rows(project)
    assert set(maps_now) == set(maps_before)
    recreated = set(
        JournalEntry.objects.filter(run=delta, op=JournalOp.DELETED).values_list(
            "entity", "source_id"
        )
    )
    for key, row in maps_before.items():
        now = maps_now[key]
        assert {f: now[f] for f in MAP_COMPARED} == {f: row[f] for f in MAP_COMPARED}, key
        if key not in recreated:  # a re-created record may have a new id
            assert now["target_id"] == row["target_id"], key
            assert now["target_hash"] == row["target_hash"], key
    # The rollback journals what it did itself, and its batches count it for the progress UI.
    assert JournalEntry.objects.filter(run=undo).count() == len(touched)
    assert sum(undo.batches.values_list("read", flat=True)) == len(touched)

    # The watermark steps back over the rolled-back delta: the next delta re-applies it.
    again = run(project, deletes=True)
    assert again.status == RunStatus.SUCCEEDED, again.error
    assert target_snapshot(project) == after_delta
    redone = Counter(
        again.outcomes.exclude(action=Action.UNCHANGED).values_list("entity", "action")
    )
    assert redone == Counter(
        delta.outcomes.exclude(action=Action.UNCHANGED).values_list("entity", "action")
    )


class Died(Exception):
    """The worker died after writing to the target, before its commit."""


def test_a_rollback_batch_delivered_again_after_a_death_ends_the_same_with_no_duplicate(
    store, monkeypatch
):
    from apps.runs import engine
    from apps.runs.models import EntityBatch
    from apps.runs.rollback import RollbackProcessor

    project = store.project
    before = target_snapshot(project)
    change_the_source(store)
    delta = run(project, deletes=True)
    undo = start_run(project, kind=RunKind.ROLLBACK, parent=delta, rollback_approved=True)
    real_commit = RollbackProcessor.commit
    died: list[int] = []

    def commit_once(self, items, **kwargs):
        # Every batch dies once, after its writes: each is done twice.
        if self.batch.pk not in died:
            died.append(self.batch.pk)
            raise Died
        return real_commit(self, items, **kwargs)

    monkeypatch.setattr(RollbackProcessor, "commit", commit_once)
    queue: list[int] = []
    engine.plan_run(undo.pk, enqueue=queue.extend)
    while queue:
        batch_id = queue.pop(0)
        try:
            engine.process_batch(batch_id, enqueue=queue.extend)
        except Died:
            # The lease runs out; the reaper sends the batch again.
            EntityBatch.objects.filter(pk=batch_id).update(
                lease_expires_at=timezone.now() - timedelta(seconds=1)
            )
            assert engine.reap(enqueue=queue.extend)["resent"] == 1

    undo.refresh_from_db()
    assert undo.status == RunStatus.SUCCEEDED, undo.error
    assert len(died) == undo.batches.count() > 1
    assert all(attempts == 2 for attempts in undo.batches.values_list("attempts", flat=True))
    assert target_snapshot(project) == before  # unique natural keys: nothing created twice
    assert undo.outcomes.filter(action=Action.CREATED).count() == 3


def test_a_deleted_category_is_re_created_before_the_products_that_were_in_it(store):
    """The source deletes a category its products are in: the delta deletes it on the target
    and takes it off the products; the rollback re-creates it (a new id) and puts the products
    back in it under that id."""
    project = store.project
    before = target_snapshot(project)
    maps_before = map_rows(project)
    source = build_connector(project.source_store)
    try:
        raws = read_all(source, "products")
    finally:
        source.close()
    in_use = Counter(str(c["id"]) for r in raws for c in r.get("categories") or [])
    categories = {m.source_id: m for m in mapped(project, "categories")}
    parents = {c.canonical.get("parent") for c in categories.values()}
    doomed = next(sid for sid, _ in in_use.most_common() if sid not in parents)
    with store.woo() as woo:
        assert woo.delete(f"products/categories/{doomed}", params={"force": "true"}).is_success

    delta = run(project, deletes=True)
    assert delta.status == RunStatus.SUCCEEDED, delta.error
    assert delta.outcomes.get(entity="categories", source_id=doomed).action == Action.DELETED
    assert delta.outcomes.filter(entity="products", action=Action.UPDATED).count() == in_use[doomed]

    undo = rollback(delta)

    assert undo.status == RunStatus.SUCCEEDED, list(undo.outcomes.values_list("reason", flat=True))
    assert target_snapshot(project) == before
    old = maps_before[("categories", doomed)]["target_id"]
    new = RecordMap.objects.get(project=project, entity="categories", source_id=doomed).target_id
    products = RecordMap.objects.filter(project=project, entity="products")
    target = build_connector(project.target_store)
    try:
        forms = [
            target.to_canonical("products", r)
            for r in target.read_by_ids("products", [m.target_id for m in products])
        ]
    finally:
        target.close()
    assert sum(new in f["categories"] for f in forms) == in_use[doomed]
    assert new != old  # a new id: the products' pre-images were translated to it
    assert not any(old in f["categories"] for f in forms)


def test_a_conflict_resolution_journalled_on_the_delta_is_rolled_back_with_it(store):
    """A person resolved a conflict the delta found: the resolution's write is journalled on
    that delta with the RecordMap row it replaced, and the rollback undoes it too."""
    from apps.conflicts import services as conflicts
    from apps.conflicts.models import Conflict
    from tests.factories import UserFactory

    project = store.project
    row = mapped(project, "products")[0]
    with store.woo() as woo:
        assert woo.put(f"products/{row.source_id}", json={"name": "Source's name"}).is_success
    with store.big() as big:
        assert big.put(f"catalog/products/{row.target_id}", json={"name": "Target's name"})
    edited = target_snapshot(project)
    map_edited = map_rows(project)
    delta = run(project)
    conflict = Conflict.objects.get(project=project, source_id=row.source_id)
    conflicts.resolve(conflict, user=UserFactory(), choices={"name": {"side": "source"}})
    entry = JournalEntry.objects.get(run=delta, source_id=row.source_id)
    assert entry.map_before["source_hash"] == map_edited[("products", row.source_id)]["source_hash"]

    undo = rollback(delta)

    assert undo.status == RunStatus.SUCCEEDED, undo.error
    assert undo.outcomes.get(source_id=row.source_id).action == Action.UPDATED
    assert target_snapshot(project) == edited  # the target's own edit is back
    now = map_rows(project)[("products", row.source_id)]
    assert {f: now[f] for f in MAP_COMPARED} == {
        f: map_edited[("products", row.source_id)][f] for f in MAP_COMPARED
    }


def test_a_variant_the_delta_added_to_an_existing_product_is_removed_by_the_rollback(store):
    """The source gains a variation of a product already on the target: the delta adds the
    variant to the BigCommerce product, and the rollback's pre-image write takes it away again
    (the connector deletes the sub-records a record no longer has)."""
    project = store.project
    before = target_snapshot(project)
    source = build_connector(project.source_store)
    try:
        raws = source.read_by_ids("products", [m.source_id for m in mapped(project, "products")])
    finally:
        source.close()
    variable = next(r for r in raws if r.get("type") == "variable" and r.get("variations"))
    attribute = next(a for a in variable["attributes"] if a.get("variation"))
    with store.woo() as woo:
        first = woo.get(f"products/{variable['id']}/variations/{variable['variations'][0]}")
        options = {a["name"]: a["option"] for a in first.json()["attributes"]}
        options[attribute["name"]] = attribute["options"][-1] + " XL"
        assert woo.put(
            f"products/{variable['id']}",
            json={
                "attributes": [
                    {**a, "options": [*a["options"], options[attribute["name"]]]}
                    if a["name"] == attribute["name"]
                    else a
                    for a in variable["attributes"]
                ]
            },
        ).is_success
        added = woo.post(
            f"products/{variable['id']}/variations",
            json={
                "sku": "RB-ADDED-VARIANT",
                "regular_price": "12.00",
                "attributes": [{"name": n, "option": o} for n, o in options.items()],
            },
        )
        assert added.is_success, added.text

    delta = run(project)
    assert delta.status == RunStatus.SUCCEEDED, delta.error
    assert delta.outcomes.get(entity="products", source_id=str(variable["id"])).action == (
        Action.UPDATED
    )
    target = build_connector(project.target_store)
    try:
        target_id = RecordMap.objects.get(
            project=project, entity="products", source_id=str(variable["id"])
        ).target_id
        [now] = target.read_by_ids("products", [target_id])
        assert "RB-ADDED-VARIANT" in {v.get("sku") for v in now.get("variants") or []}
    finally:
        target.close()

    undo = rollback(delta)

    assert undo.status == RunStatus.SUCCEEDED, list(
        undo.outcomes.filter(action=Action.FAILED).values_list("reason", flat=True)
    )
    assert target_snapshot(project) == before
    # The option value only that variant used is gone from the product too, not left as a
    # choice the storefront offers with nothing behind it.
    labels = target_option_labels(store, target_id)
    assert options[attribute["name"]] not in labels and attribute["options"][-1] in labels


def target_option_labels(store, target_id: str) -> set[str]:
    product = SandboxObject.objects.get(
        store=store.target, resource="product", object_id=int(target_id)
    )
    return {v["label"] for o in product.data.get("options") or [] for v in o["option_values"]}


def test_a_variation_deleted_at_the_source_is_deleted_from_the_target_by_the_delta(store):
    project = store.project
    source = build_connector(project.source_store)
    try:
        raws = source.read_by_ids("products", [m.source_id for m in mapped(project, "products")])
    finally:
        source.close()
    variable = next(r for r in raws if r.get("type") == "variable" and len(r["variations"]) > 2)
    doomed = variable["variations"][-1]
    with store.woo() as woo:
        sku = woo.get(f"products/{variable['id']}/variations/{doomed}").json()["sku"]
        assert woo.delete(
            f"products/{variable['id']}/variations/{doomed}", params={"force": "true"}
        ).is_success
        # WooCommerce does not touch the parent's modified date for a variation's delete.
        assert woo.put(f"products/{variable['id']}", json={"name": "One variation less"})

    delta = run(project)

    assert delta.status == RunStatus.SUCCEEDED, delta.error
    target_id = RecordMap.objects.get(
        project=project, entity="products", source_id=str(variable["id"])
    ).target_id
    left = SandboxObject.objects.filter(
        store=store.target, resource="variant", parent_id=int(target_id)
    )
    assert sku not in set(left.values_list("sku", flat=True))
    assert left.count() == len(variable["variations"]) - 1
    # The map keeps the target's form without it: the next delta sees nothing to do.
    again = run(project)
    assert set(again.outcomes.values_list("action", flat=True)) <= {Action.UNCHANGED}
