"""The engine end to end over the sandboxes' real HTTP APIs, processed in this process."""

from __future__ import annotations

from collections import Counter
from datetime import timedelta

import pytest
from django.utils import timezone

from apps.core.errors import Conflict
from apps.runs import batches
from apps.runs.choices import Action, BatchStatus, JournalOp, MapStatus, RunKind, RunStatus
from apps.runs.engine import run_inline
from apps.runs.models import EntityBatch, JournalEntry, RecordMap, RecordOutcome
from apps.runs.services import entity_progress, start_run
from apps.stores.services import build_connector


def full_run(rehearsal, kind=RunKind.FULL):
    run = start_run(rehearsal.project, kind=kind)
    return run_inline(run.pk)


def source_skus(rehearsal) -> set[str]:
    return set(rehearsal.source.records.filter(resource="product").values_list("sku", flat=True))


def test_full_run_migrates_every_product_once(rehearsal):
    run = full_run(rehearsal)

    assert run.status == RunStatus.SUCCEEDED, run.error
    target = rehearsal.target_products()
    assert len(target) == 120
    assert {p["sku"] for p in target} == source_skus(rehearsal)
    assert (
        RecordMap.objects.filter(project=rehearsal.project, status=MapStatus.SYNCED).count() == 120
    )
    assert Counter(run.outcomes.values_list("action", flat=True)) == {Action.CREATED: 120}
    [progress] = entity_progress(run)
    assert (progress.total, progress.processed, progress.created) == (120, 120, 120)
    assert progress.batches_done == progress.batches_total == 2
    assert JournalEntry.objects.filter(run=run, op=JournalOp.CREATED).count() == 120


def test_variants_arrive_with_their_product(rehearsal):
    full_run(rehearsal)
    source = build_connector(rehearsal.project.source_store)
    target = build_connector(rehearsal.project.target_store)
    record_map = (
        RecordMap.objects.filter(project=rehearsal.project).exclude(canonical__variants=[]).first()
    )
    assert record_map is not None, "the demo catalog should contain variable products"
    [raw_target] = target.read_by_ids("products", [record_map.target_id])
    [raw_source] = source.read_by_ids("products", [record_map.source_id])
    migrated = target.to_canonical("products", raw_target)
    original = source.to_canonical("products", raw_source)
    assert sorted(v["sku"] for v in migrated["variants"]) == sorted(
        v["sku"] for v in original["variants"]
    )
    assert migrated["price"] == original["price"]


def test_second_full_run_creates_nothing(rehearsal):
    full_run(rehearsal)
    second = full_run(rehearsal)

    assert second.status == RunStatus.SUCCEEDED
    assert Counter(second.outcomes.values_list("action", flat=True)) == {Action.UNCHANGED: 120}
    assert len(rehearsal.target_products()) == 120


def test_changed_source_record_is_updated_with_its_pre_image_journalled(rehearsal):
    full_run(rehearsal)
    product = rehearsal.source.records.filter(resource="product").order_by("object_id").first()
    with rehearsal.woo() as woo:
        response = woo.put(f"products/{product.object_id}", json={"name": "Renamed by merchant"})
        assert response.status_code == 200, response.text

    second = full_run(rehearsal)

    outcome = second.outcomes.get(source_id=str(product.object_id))
    assert outcome.action == Action.UPDATED
    entry = JournalEntry.objects.get(run=second, op=JournalOp.UPDATED)
    assert entry.pre_image["name"] != "Renamed by merchant"
    assert (
        rehearsal.target.records.get(resource="product", object_id=int(outcome.target_id)).name
        == "Renamed by merchant"
    )
    assert Counter(second.outcomes.values_list("action", flat=True))[Action.UNCHANGED] == 119


@pytest.mark.parametrize(
    ("payload", "reason"),
    [
        ({"name": "No SKU here", "regular_price": "10.00", "sku": ""}, "no SKU"),
        ({"name": "Negative", "regular_price": "-5.00", "sku": "NEG-1"}, "negative"),
    ],
)
def test_a_bad_record_fails_alone_with_its_reason(rehearsal, payload, reason):
    with rehearsal.woo() as woo:
        response = woo.post("products", json={"type": "simple", **payload})
        assert response.status_code == 201, response.text
        bad_id = str(response.json()["id"])

    run = full_run(rehearsal)

    assert run.status == RunStatus.PARTIALLY_FAILED
    failed = run.outcomes.get(action=Action.FAILED)
    assert failed.source_id == bad_id
    assert reason in failed.reason
    assert run.outcomes.filter(action=Action.CREATED).count() == 120
    assert len(rehearsal.target_products()) == 120
    assert not RecordMap.objects.filter(project=rehearsal.project, source_id=bad_id).exists()


def test_retry_failed_processes_only_the_failed_records(rehearsal):
    with rehearsal.woo() as woo:
        bad_id = woo.post(
            "products", json={"name": "Fix me", "regular_price": "-1.00", "sku": "FIX-1"}
        ).json()["id"]
    first = full_run(rehearsal)
    assert first.status == RunStatus.PARTIALLY_FAILED
    with rehearsal.woo() as woo:
        assert woo.put(f"products/{bad_id}", json={"regular_price": "3.50"}).status_code == 200

    retry = full_run(rehearsal, kind=RunKind.RETRY_FAILED)

    assert retry.status == RunStatus.SUCCEEDED, retry.error
    assert retry.parent_id == first.pk
    assert list(retry.outcomes.values_list("source_id", "action")) == [
        (str(bad_id), Action.CREATED)
    ]
    assert len(rehearsal.target_products()) == 121


def test_pending_record_created_by_a_dead_attempt_is_adopted_not_duplicated(rehearsal):
    """A worker created the product, then died before committing: RecordMap says pending."""
    source = build_connector(rehearsal.project.source_store)
    target = build_connector(rehearsal.project.target_store)
    page = source.read_page("products", {"page": 1, "per_page": 5}, 5)
    first = page.records[0]
    canonical = source.to_canonical("products", first)
    from apps.stores.connectors.base import WriteItem

    [created] = target.create(
        "products",
        [WriteItem(ref="x", payload=target.from_canonical("products", canonical))],
    )
    assert created.ok, created.error
    RecordMap.objects.create(
        project=rehearsal.project,
        entity="products",
        source_id=source.record_id(first),
        natural_key=canonical["sku"],
        status=MapStatus.PENDING,
    )

    run = full_run(rehearsal)

    assert run.status == RunStatus.SUCCEEDED, run.error
    skus = [p["sku"] for p in rehearsal.target_products()]
    assert len(skus) == len(set(skus)) == 120
    outcome = run.outcomes.get(source_id=source.record_id(first))
    assert (outcome.action, outcome.target_id) == (Action.CREATED, str(created.target_id))


def test_record_already_on_target_is_adopted_with_its_pre_image(rehearsal):
    source = build_connector(rehearsal.project.source_store)
    first = source.read_page("products", None, 1).records[0]
    sku = source.to_canonical("products", first)["sku"]
    with rehearsal.big() as big:
        response = big.post(
            "catalog/products",
            json={
                "name": "Merchant's own",
                "type": "physical",
                "weight": 1,
                "price": 1,
                "sku": sku,
            },
        )
        assert response.status_code in (200, 201), response.text
    # The merchant made it last week, not in the seconds before the run.
    last_week = timezone.now() - timedelta(days=7)
    record = rehearsal.target.records.get(resource="product", sku=sku)
    record.date_created = last_week
    record.data["date_created"] = last_week.isoformat()
    record.save()

    run = full_run(rehearsal)

    assert run.status == RunStatus.SUCCEEDED, run.error
    assert len(rehearsal.target_products()) == 120
    outcome = run.outcomes.get(source_id=source.record_id(first))
    assert outcome.action == Action.UPDATED
    entry = JournalEntry.objects.get(run=run, source_id=outcome.source_id)
    assert (entry.op, entry.pre_image["name"]) == (JournalOp.UPDATED, "Merchant's own")


def test_a_second_start_while_a_run_is_live_is_refused(rehearsal):
    start_run(rehearsal.project, kind=RunKind.FULL)
    with pytest.raises(Conflict, match="already has run"):
        start_run(rehearsal.project, kind=RunKind.FULL)


def test_a_batch_is_leased_to_one_worker_until_its_lease_expires(rehearsal):
    run = start_run(rehearsal.project, kind=RunKind.FULL)
    from apps.runs.engine import plan_run

    plan_run(run.pk, enqueue=lambda ids: None)
    batch = EntityBatch.objects.filter(run=run).first()

    assert batches.claim(batch.pk, owner="a") is not None
    assert batches.claim(batch.pk, owner="b") is None
    EntityBatch.objects.filter(pk=batch.pk).update(lease_expires_at="2000-01-01T00:00:00Z")
    taken = batches.claim(batch.pk, owner="b")
    assert taken is not None and taken.lease_owner == "b" and taken.attempts == 2


def test_a_re_delivered_batch_changes_nothing(rehearsal):
    run = full_run(rehearsal)
    outcomes = RecordOutcome.objects.filter(run=run).count()
    batch = run.batches.first()
    from apps.runs.engine import process_batch

    process_batch(batch.pk)  # done: the claim refuses it

    assert RecordOutcome.objects.filter(run=run).count() == outcomes
    assert EntityBatch.objects.get(pk=batch.pk).status == BatchStatus.DONE
    assert len(rehearsal.target_products()) == 120


def test_records_sharing_a_natural_key_are_excluded_and_documented(rehearsal):
    rehearsal.project.field_mappings = {"products": {"sku": {"value": "SAME-SKU"}}}
    rehearsal.project.save()

    run = full_run(rehearsal)

    actions = Counter(run.outcomes.values_list("action", flat=True))
    assert actions[Action.CREATED] == 1
    skipped = run.outcomes.filter(action=Action.SKIPPED)
    assert skipped.count() == 119 - actions[Action.FAILED]
    first = run.outcomes.get(action=Action.CREATED).source_id
    assert all(
        o.reason == f"excluded: same sku 'SAME-SKU' as source record {first}" for o in skipped
    )
    assert [p["sku"] for p in rehearsal.target_products()] == ["SAME-SKU"]


def test_the_project_field_mapping_shapes_what_is_written(rehearsal):
    rehearsal.project.field_mappings = {"products": {"name": {"transforms": ["upper"]}}}
    rehearsal.project.save()
    full_run(rehearsal)
    names = rehearsal.target.records.filter(resource="product").values_list("name", flat=True)
    assert names and all(name == name.upper() for name in names)


def test_a_worker_that_lost_its_lease_commits_nothing(rehearsal):
    from apps.runs.engine import plan_run
    from apps.runs.processing import BatchProcessor, LeaseLost

    run = start_run(rehearsal.project, kind=RunKind.FULL)
    plan_run(run.pk, enqueue=lambda ids: None)
    batch = batches.claim(run.batches.first().pk, owner="slow")
    processor = BatchProcessor(
        batch,
        build_connector(rehearsal.project.source_store),
        build_connector(rehearsal.project.target_store),
    )
    items = processor.process()
    EntityBatch.objects.filter(pk=batch.pk).update(lease_owner="someone-else")

    with pytest.raises(LeaseLost):
        processor.commit(items)
    assert not RecordOutcome.objects.filter(run=run).exists()
