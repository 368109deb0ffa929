"""Delta syncs while the old store keeps selling: what changed is written, what both sides
changed is merged or sent to review, what disappeared follows the delete policy."""

from __future__ import annotations

from collections import Counter

import pytest
from django.utils import timezone

from apps.conflicts.models import Conflict
from apps.runs.choices import Action, MapStatus, RunKind, RunStatus
from apps.runs.engine import run_inline
from apps.runs.models import JournalEntry, RecordMap
from apps.runs.services import start_run


def run(rehearsal, kind=RunKind.DELTA, **options):
    return run_inline(start_run(rehearsal.project, kind=kind, options=options or None).pk)


@pytest.fixture
def synced(rehearsal):
    full = run(rehearsal, RunKind.FULL)
    assert full.status == RunStatus.SUCCEEDED
    return rehearsal


def first_product(rehearsal):
    record_map = RecordMap.objects.filter(project=rehearsal.project).order_by("id").first()
    return record_map.source_id, record_map.target_id


def edit_source(rehearsal, source_id, **fields):
    with rehearsal.woo() as woo:
        response = woo.put(f"products/{source_id}", json=fields)
        assert response.status_code == 200, response.text


def edit_target(rehearsal, target_id, **fields):
    with rehearsal.big() as big:
        response = big.put(f"catalog/products/{target_id}", json=fields)
        assert response.status_code == 200, response.text


def target_product(rehearsal, target_id):
    """The target's product as its API shows it."""
    with rehearsal.big() as big:
        response = big.get(f"catalog/products/{target_id}")
        assert response.status_code == 200, response.text
        return response.json()["data"]


def test_a_delta_needs_a_baseline(rehearsal):
    from django.core.exceptions import ValidationError

    with pytest.raises(ValidationError, match="needs a baseline"):
        start_run(rehearsal.project, kind=RunKind.DELTA)


def test_a_delta_writes_what_changed_and_moves_the_watermark(synced):
    source_id, target_id = first_product(synced)
    edit_source(synced, source_id, name="Renamed at the source")

    delta = run(synced)

    assert delta.status == RunStatus.SUCCEEDED, delta.error
    assert delta.outcomes.get(source_id=source_id).action == Action.UPDATED
    assert target_product(synced, target_id)["name"] == "Renamed at the source"
    assert not delta.outcomes.exclude(action=Action.UNCHANGED).exclude(source_id=source_id)
    assert delta.since is not None and delta.until > delta.since
    again = run(synced)
    assert again.since < delta.until <= again.until  # the next window overlaps the last
    assert not again.outcomes.exclude(action=Action.UNCHANGED).exists()


def test_edits_to_different_fields_on_both_sides_merge(synced):
    source_id, target_id = first_product(synced)
    edit_source(synced, source_id, name="New name from the source")
    edit_target(synced, target_id, description="<p>Written by the new store's team</p>")

    delta = run(synced)

    outcome = delta.outcomes.get(source_id=source_id)
    assert outcome.action == Action.MERGED, outcome.reason
    product = target_product(synced, target_id)
    assert product["name"] == "New name from the source"
    assert product["description"] == "<p>Written by the new store's team</p>"
    assert not Conflict.objects.exists()


def test_the_same_field_edited_on_both_sides_goes_to_review_and_nothing_is_overwritten(synced):
    source_id, target_id = first_product(synced)
    edit_source(synced, source_id, name="Source's name")
    edit_target(synced, target_id, name="Target's name")

    delta = run(synced)

    outcome = delta.outcomes.get(source_id=source_id)
    assert outcome.action == Action.CONFLICT
    assert target_product(synced, target_id)["name"] == "Target's name"
    conflict = Conflict.objects.get()
    assert conflict.kind == "edit" and conflict.fields == ["name"]
    assert conflict.source["name"] == "Source's name" and conflict.target["name"] == "Target's name"
    assert delta.status == RunStatus.SUCCEEDED  # a conflict is not a failure
    # The next delta refreshes the same open conflict instead of adding one.
    edit_source(synced, source_id, name="Source's second name")
    run(synced)
    assert Conflict.objects.get().source["name"] == "Source's second name"


@pytest.mark.parametrize(
    ("policy", "winner"),
    [("source_wins", "Source's name"), ("target_wins", "Target's name")],
)
def test_a_field_policy_settles_a_conflict(synced, policy, winner):
    synced.project.conflict_policies = {"products": {"fields": {"name": policy}}}
    synced.project.save()
    source_id, target_id = first_product(synced)
    edit_source(synced, source_id, name="Source's name")
    edit_target(synced, target_id, name="Target's name")

    delta = run(synced)

    assert delta.outcomes.get(source_id=source_id).action in (Action.MERGED, Action.UPDATED)
    assert target_product(synced, target_id)["name"] == winner
    assert not Conflict.objects.exists()


def test_latest_timestamp_wins(synced):
    synced.project.conflict_policies = {"products": {"default": "latest"}}
    synced.project.save()
    source_id, target_id = first_product(synced)
    edit_target(synced, target_id, name="Target's earlier name")
    later = timezone.now() + timezone.timedelta(seconds=5)
    edit_source(synced, source_id, name="Source's later name")
    synced.source.records.filter(resource="product", object_id=int(source_id)).update(
        date_modified=later
    )
    record = synced.source.records.get(resource="product", object_id=int(source_id))
    record.data["date_modified_gmt"] = later.replace(tzinfo=None).isoformat(timespec="seconds")
    record.save()

    run(synced)

    assert target_product(synced, target_id)["name"] == "Source's later name"


def test_a_record_deleted_at_the_source_goes_to_review_by_default(synced):
    source_id, target_id = first_product(synced)
    with synced.woo() as woo:
        assert woo.delete(f"products/{source_id}", params={"force": "true"}).status_code == 200

    delta = run(synced, deletes=True)

    assert delta.outcomes.get(source_id=source_id).action == Action.CONFLICT
    assert Conflict.objects.get().kind == "delete"
    assert synced.target.records.filter(resource="product", object_id=int(target_id)).exists()


def test_propagated_deletes_are_journalled_with_their_pre_image(synced):
    synced.project.delete_policies = {"products": "propagate"}
    synced.project.save()
    source_id, target_id = first_product(synced)
    with synced.woo() as woo:
        assert woo.delete(f"products/{source_id}", params={"force": "true"}).status_code == 200

    delta = run(synced, deletes=True)

    assert delta.outcomes.get(source_id=source_id).action == Action.DELETED
    assert not synced.target.records.filter(resource="product", object_id=int(target_id)).exists()
    entry = JournalEntry.objects.get(run=delta, op="deleted")
    assert entry.pre_image["id"] == int(target_id)
    assert not RecordMap.objects.filter(project=synced.project, source_id=source_id).exists()


def test_archived_deletes_hide_the_record(synced):
    synced.project.delete_policies = {"products": "archive"}
    synced.project.save()
    source_id, target_id = first_product(synced)
    with synced.woo() as woo:
        woo.delete(f"products/{source_id}", params={"force": "true"})

    run(synced, deletes=True)

    assert target_product(synced, target_id)["is_visible"] is False
    assert RecordMap.objects.get(source_id=source_id).status == MapStatus.ARCHIVED


def test_a_dry_run_plans_without_writing(synced):
    source_id, target_id = first_product(synced)
    edit_source(synced, source_id, name="Only in the plan")
    with synced.woo() as woo:
        woo.post("products", json={"name": "Brand new", "sku": "NEW-1", "regular_price": "5.00"})
    maps_before = RecordMap.objects.count()

    dry = run(synced, RunKind.DRY_RUN)

    actions = Counter(dry.outcomes.values_list("action", flat=True))
    assert actions[Action.CREATED] == 1 and actions[Action.UPDATED] == 1
    assert target_product(synced, target_id)["name"] != "Only in the plan"
    assert RecordMap.objects.count() == maps_before
    assert not synced.target.records.filter(sku="NEW-1").exists()
    assert not JournalEntry.objects.filter(run=dry).exists()


def test_a_record_edited_during_a_delta_is_picked_up_by_the_next(synced):
    source_id, target_id = first_product(synced)
    delta = start_run(synced.project, kind=RunKind.DELTA)
    from apps.runs.engine import plan_run, process_batch
    from apps.runs.models import Run

    queue: list[int] = []
    plan_run(delta.pk, enqueue=queue.extend)  # the window's until is fixed here
    edit_source(synced, source_id, name="Edited while the delta ran")
    while queue:
        process_batch(queue.pop(0), enqueue=queue.extend)
    delta = Run.objects.get(pk=delta.pk)

    after = run(synced)

    # Written once: by the delta if its read came after the edit, else by the next one.
    writes = [
        r.outcomes.get(source_id=source_id).action
        for r in (delta, after)
        if r.outcomes.filter(source_id=source_id).exists()
    ]
    assert writes.count(Action.UPDATED) == 1, writes
    assert target_product(synced, target_id)["name"] == "Edited while the delta ran"
