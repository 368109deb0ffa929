"""Resolving conflicts against a real target (the BigCommerce sandbox, in process): what is
written, what is recorded, and what is refused."""

from __future__ import annotations

from datetime import timedelta
from unittest import mock

import pytest
from django.core.exceptions import ValidationError
from django.utils import timezone

from apps.conflicts import services
from apps.conflicts.models import Conflict
from apps.core.errors import Conflict as StateConflict
from apps.core.models import AuditEvent
from apps.core.roles import Role
from apps.runs.choices import JournalOp, MapStatus
from apps.runs.models import JournalEntry, RecordMap
from apps.stores.connectors.base import WriteResult
from apps.stores.connectors.canonical import content_hash
from tests.conflicts.conftest import (
    delete_conflict,
    edit_conflict,
    member,
    plain_conflict,
    read_target,
    record_maps,
)


def price_and_name_conflict(migrated, record_map=None):
    """name and price changed on both sides; description on the source only; weight on the
    target only."""
    return edit_conflict(
        migrated,
        record_map,
        source={"name": "Source name", "price": "10.00", "description": "<p>From the source</p>"},
        target={"name": "Target name", "price": "20.00", "weight": "9.5"},
    )


def test_diff_marks_each_side(migrated):
    conflict = price_and_name_conflict(migrated)
    rows = {row.field: row for row in services.diff(conflict)}

    assert [r.field for r in services.diff(conflict)][:2] == sorted(conflict.fields)
    assert rows["name"].state == "conflict" and rows["price"].state == "conflict"
    assert rows["description"].state == "source"
    assert rows["weight"].state == "target"
    assert rows["sku"].state == "unchanged"
    assert (rows["price"].base, rows["price"].source, rows["price"].target) == (
        conflict.base["price"],
        "10.00",
        "20.00",
    )
    assert rows["description"].merged == "<p>From the source</p>"


def test_resolve_writes_exactly_the_chosen_values(migrated, merchandiser):
    conflict = price_and_name_conflict(migrated)
    record_map = RecordMap.objects.get(pk=record_maps(migrated)[0].pk)
    before = read_target(migrated, conflict.target_id)

    services.resolve(
        conflict,
        user=merchandiser,
        choices={"name": {"side": "target"}, "price": {"side": "source"}},
    )

    after = read_target(migrated, conflict.target_id)
    assert after["name"] == "Target name"  # chosen: target
    assert after["price"] == "10.00"  # chosen: source
    assert after["description"] == "<p>From the source</p>"  # source-only change merged
    assert after["weight"] == "9.5"  # target-only change kept
    assert after["variants"] == before["variants"]

    conflict.refresh_from_db()
    assert conflict.status == "resolved"
    assert conflict.resolved_by == merchandiser and conflict.resolved_at is not None
    assert conflict.resolution == {
        "name": {"side": "target", "value": "Target name"},
        "price": {"side": "source", "value": "10.00"},
    }
    assert conflict.claim_token == "" and conflict.error == ""

    record_map.refresh_from_db()
    assert record_map.canonical == conflict.source
    assert record_map.source_hash == content_hash(conflict.source)
    assert record_map.target_canonical == after
    assert record_map.target_hash == content_hash(after)
    assert record_map.status == MapStatus.SYNCED

    [entry] = JournalEntry.objects.filter(source_id=conflict.source_id, op=JournalOp.UPDATED)
    assert entry.run == migrated.run and entry.target_id == conflict.target_id
    assert entry.pre_image["name"] == "Target name" and float(entry.pre_image["price"]) == 20.0

    [event] = AuditEvent.objects.filter(action="conflict.resolved")
    assert event.actor == merchandiser and event.project_id == migrated.project.pk
    assert event.payload["fields"] == {"name": "target", "price": "source"}
    assert "Target name" not in str(event.payload)  # sides only, never values


def test_typed_values_are_written_in_the_fields_type(migrated, merchandiser):
    conflict = price_and_name_conflict(migrated)

    services.resolve(
        conflict,
        user=merchandiser,
        choices={
            "name": {"side": "custom", "value": "Typed <b>name</b>"},
            "price": {"side": "custom", "value": "15.5"},
        },
    )

    after = read_target(migrated, conflict.target_id)
    assert (after["name"], after["price"]) == ("Typed <b>name</b>", "15.50")


def test_every_conflicting_field_must_be_chosen(migrated, merchandiser):
    conflict = price_and_name_conflict(migrated)

    with pytest.raises(ValidationError) as caught:
        services.resolve(conflict, user=merchandiser, choices={"name": {"side": "source"}})

    assert set(caught.value.message_dict) == {"price"}
    conflict.refresh_from_db()
    assert conflict.status == "open" and conflict.claim_token == ""
    assert read_target(migrated, conflict.target_id)["name"] == "Target name"


@pytest.mark.parametrize(
    ("choices", "field", "message"),
    [
        ({"name": {"side": "left"}, "price": {"side": "source"}}, "name", "Side must be"),
        ({"name": {"side": "custom"}, "price": {"side": "source"}}, "name", "value is missing"),
        (
            {"name": {"side": "source"}, "price": {"side": "custom", "value": "abc"}},
            "price",
            "not a number",
        ),
        (
            {"name": {"side": "custom", "value": ["a"]}, "price": {"side": "source"}},
            "name",
            "must be text",
        ),
        (
            {"name": {"side": "custom", "value": None}, "price": {"side": "source"}},
            "name",
            "needs a value",
        ),
        (
            {"name": {"side": "source"}, "price": {"side": "source"}, "sku": {"side": "source"}},
            "sku",
            "Not a conflicting field",
        ),
    ],
)
def test_bad_choices_name_the_field(migrated, merchandiser, choices, field, message):
    conflict = price_and_name_conflict(migrated)

    with pytest.raises(ValidationError) as caught:
        services.resolve(conflict, user=merchandiser, choices=choices)

    assert message in " ".join(caught.value.message_dict[field])


def test_custom_values_follow_the_type_of_the_other_sides():
    assert services.coerce_custom("stock", "12", [3, 4, None]) == 12
    assert services.coerce_custom("stock", "", [3, None, 5]) is None
    with pytest.raises(ValueError, match="whole number"):
        services.coerce_custom("stock", "12.5", [3, 4, 5])
    assert services.coerce_custom("categories", '["1", "2"]', [["1"], [], ["3"]]) == ["1", "2"]
    with pytest.raises(ValueError, match="JSON"):
        services.coerce_custom("categories", "[1,", [["1"], [], ["3"]])
    assert services.coerce_custom("accepts_marketing", "yes", [True, False, True]) is True
    assert services.coerce_custom("weight", "0.70", ["0.5", "0.6", "0.5"]) == "0.7"
    assert services.coerce_custom("sale_price", 3, ["1.00", None, None]) == "3.00"


def test_a_target_changed_since_detection_is_refused_and_refreshed(migrated, merchandiser):
    conflict = price_and_name_conflict(migrated)
    from tests.conflicts.conftest import edit_target

    edit_target(migrated, conflict.target_id, name="Edited again on the target", stock=None)
    seen = services.version(conflict)

    with pytest.raises(services.StaleTarget, match="reload"):
        services.resolve(
            conflict,
            user=merchandiser,
            choices={"name": {"side": "source"}, "price": {"side": "source"}},
        )

    assert read_target(migrated, conflict.target_id)["name"] == "Edited again on the target"
    conflict.refresh_from_db()
    assert conflict.status == "open" and conflict.claim_token == ""
    assert conflict.target["name"] == "Edited again on the target"
    assert conflict.target_hash == content_hash(read_target(migrated, conflict.target_id))
    assert set(conflict.fields) == {"name", "price"}
    assert "changed on the target" in conflict.error
    assert services.version(conflict) != seen
    # A decision on the old view is refused; one on the refreshed view goes through.
    with pytest.raises(services.ConflictChanged):
        services.resolve(
            conflict,
            user=merchandiser,
            choices={"name": {"side": "source"}, "price": {"side": "source"}},
            seen_version=seen,
        )
    services.resolve(
        conflict,
        user=merchandiser,
        choices={"name": {"side": "source"}, "price": {"side": "source"}},
        seen_version=services.version(conflict),
    )
    assert read_target(migrated, conflict.target_id)["name"] == "Source name"


def test_two_people_resolving_at_once_make_one_write(migrated, merchandiser):
    """The second request arrives while the first is writing to the target (the worst
    moment): it is refused with who holds the conflict, and once the first is done, anyone
    else is told who resolved it and when."""
    conflict = price_and_name_conflict(migrated)
    other = member(migrated.project, Role.ADMIN)
    choices = {"name": {"side": "source"}, "price": {"side": "source"}}
    from apps.stores.connectors.bigcommerce import BigCommerceConnector

    real_update = BigCommerceConnector.update
    writes: list[str] = []
    refusals: list[str] = []

    def racing_update(self, entity, items):
        writes.append(items[0].target_id)
        try:
            services.resolve(
                Conflict.objects.get(pk=conflict.pk),
                user=other,
                choices={"name": {"side": "target"}, "price": {"side": "target"}},
            )
        except StateConflict as exc:
            refusals.append(str(exc))
        return real_update(self, entity, items)

    with mock.patch.object(BigCommerceConnector, "update", racing_update):
        services.resolve(conflict, user=merchandiser, choices=choices)

    assert len(writes) == 1
    [refusal] = refusals
    assert refusal.startswith(f"{merchandiser.get_username()} is resolving this conflict now")
    with pytest.raises(
        StateConflict, match=f"Already resolved by {merchandiser.get_username()} at"
    ):
        services.resolve(Conflict.objects.get(pk=conflict.pk), user=other, choices=choices)
    assert read_target(migrated, conflict.target_id)["name"] == "Source name"
    assert AuditEvent.objects.filter(action="conflict.resolved").count() == 1
    assert JournalEntry.objects.filter(source_id=conflict.source_id, op="updated").count() == 1


def test_a_refused_write_releases_the_claim_and_shows_the_error(migrated, merchandiser):
    conflict = price_and_name_conflict(migrated)
    choices = {"name": {"side": "source"}, "price": {"side": "source"}}
    refused = WriteResult(ref=conflict.source_id, ok=False, error="price is invalid", status=422)
    from apps.stores.connectors.bigcommerce import BigCommerceConnector

    with (
        mock.patch.object(BigCommerceConnector, "update", return_value=[refused]),
        pytest.raises(ValidationError, match="price is invalid"),
    ):
        services.resolve(conflict, user=merchandiser, choices=choices)

    conflict.refresh_from_db()
    assert conflict.status == "open" and conflict.claim_token == "" and conflict.claimed_by is None
    assert "price is invalid" in conflict.error
    assert not JournalEntry.objects.filter(source_id=conflict.source_id, op="updated").exists()

    down = WriteResult(ref=conflict.source_id, ok=False, error="timed out", retryable=True)
    with (
        mock.patch.object(BigCommerceConnector, "update", return_value=[down]),
        pytest.raises(services.TargetUnavailable, match="timed out"),
    ):
        services.resolve(conflict, user=merchandiser, choices=choices)
    conflict.refresh_from_db()
    assert conflict.claim_token == "" and "timed out" in conflict.error

    services.resolve(conflict, user=merchandiser, choices=choices)
    conflict.refresh_from_db()
    assert conflict.status == "resolved" and conflict.error == ""


def test_an_abandoned_claim_is_taken_over(migrated, merchandiser):
    conflict = price_and_name_conflict(migrated)
    Conflict.objects.filter(pk=conflict.pk).update(
        claim_token="x" * 32,
        claimed_by=merchandiser,
        claimed_at=timezone.now() - services.CLAIM_TTL - timedelta(seconds=1),
    )

    services.resolve(
        conflict,
        user=merchandiser,
        choices={"name": {"side": "source"}, "price": {"side": "source"}},
    )

    conflict.refresh_from_db()
    assert conflict.status == "resolved"


def test_bulk_resolve_by_rule(migrated, merchandiser):
    first, second, third = record_maps(migrated)
    only_name = [
        edit_conflict(
            migrated,
            rm,
            source={"name": f"Source {rm.source_id}"},
            target={"name": f"Target {rm.source_id}"},
        )
        for rm in (first, second)
    ]
    name_and_price = edit_conflict(
        migrated,
        third,
        source={"name": "S3", "price": "1.00"},
        target={"name": "T3", "price": "2.00"},
    )
    assert services.bulk_preview(migrated.project, entity="products", field="name") == (
        services.BulkPreview(resolvable=2, other_fields=1)
    )

    result = services.bulk_resolve(
        migrated.project, user=merchandiser, entity="products", field="name", side="source"
    )

    assert sorted(result.resolved) == sorted(c.pk for c in only_name)
    assert [pk for pk, _ in result.skipped] == [name_and_price.pk]
    assert "also conflicts on price" in result.skipped[0][1]
    assert result.failed == [] and result.remaining == 0
    for conflict in only_name:
        assert read_target(migrated, conflict.target_id)["name"] == f"Source {conflict.source_id}"
    name_and_price.refresh_from_db()
    assert name_and_price.status == "open"
    assert AuditEvent.objects.filter(action="conflict.resolved").count() == 2
    [summary] = AuditEvent.objects.filter(action="conflict.bulk_resolved")
    assert summary.payload["resolved"] == 2 and summary.payload["skipped"] == 1

    # No field: the side is taken for every conflicting field.
    result = services.bulk_resolve(
        migrated.project, user=merchandiser, entity="products", side="target"
    )
    assert result.resolved == [name_and_price.pk]
    after = read_target(migrated, name_and_price.target_id)
    assert (after["name"], after["price"]) == ("T3", "2.00")


def test_bulk_resolve_collects_failures(migrated, merchandiser):
    first, second, _ = record_maps(migrated)
    ok = edit_conflict(migrated, first, source={"name": "S1"}, target={"name": "T1"})
    stale = edit_conflict(migrated, second, source={"name": "S2"}, target={"name": "T2"})
    from tests.conflicts.conftest import edit_target

    edit_target(migrated, stale.target_id, name="T2 again")

    result = services.bulk_resolve(
        migrated.project, user=merchandiser, entity="products", side="source"
    )

    assert result.resolved == [ok.pk]
    assert [pk for pk, _ in result.failed] == [stale.pk]
    assert "changed on the target" in result.failed[0][1]
    assert read_target(migrated, stale.target_id)["name"] == "T2 again"


def test_bulk_resolve_needs_a_side_and_an_entity(project, user):
    with pytest.raises(ValidationError):
        services.bulk_resolve(project, user=user, entity="products", side="custom")
    with pytest.raises(ValidationError):
        services.bulk_resolve(project, user=user, entity="", side="source")


def test_delete_conflict_delete_removes_the_target_record(migrated, merchandiser):
    conflict = delete_conflict(migrated)

    services.resolve_delete(conflict, user=merchandiser, action="delete")

    assert read_target(migrated, conflict.target_id) is None
    assert not RecordMap.objects.filter(
        project=migrated.project, source_id=conflict.source_id, entity="products"
    ).exists()
    [entry] = JournalEntry.objects.filter(op=JournalOp.DELETED)
    assert entry.target_id == conflict.target_id and entry.pre_image["sku"] == conflict.natural_key
    conflict.refresh_from_db()
    assert conflict.status == "resolved" and conflict.resolution == {"action": "delete"}
    [event] = AuditEvent.objects.filter(action="conflict.resolved")
    assert event.payload["action"] == "delete"


def test_delete_conflict_keep_leaves_the_target_alone(migrated, merchandiser):
    conflict = delete_conflict(migrated)
    before = read_target(migrated, conflict.target_id)

    services.resolve_delete(conflict, user=merchandiser, action="keep")

    assert read_target(migrated, conflict.target_id) == before
    assert not RecordMap.objects.filter(
        project=migrated.project, source_id=conflict.source_id, entity="products"
    ).exists()
    assert (
        not JournalEntry.objects.filter(source_id=conflict.source_id).exclude(op="created").exists()
    )
    conflict.refresh_from_db()
    assert conflict.resolution == {"action": "keep"}


def test_delete_conflict_archive_hides_the_target_record(migrated, merchandiser):
    record_map = next(rm for rm in record_maps(migrated) if rm.canonical["status"] == "active")
    conflict = delete_conflict(migrated, record_map)

    services.resolve_delete(conflict, user=merchandiser, action="archive")

    after = read_target(migrated, conflict.target_id)
    assert after["status"] == "draft"
    assert after["name"] == conflict.target["name"]
    record_map.refresh_from_db()
    assert record_map.status == MapStatus.ARCHIVED
    assert record_map.target_hash == content_hash(after)
    [entry] = JournalEntry.objects.filter(source_id=conflict.source_id, op=JournalOp.UPDATED)
    assert entry.pre_image["is_visible"] is True


def test_archive_needs_an_entity_with_a_status(project, user):
    conflict = plain_conflict(project, kind="delete", entity="customers", fields=[])
    with pytest.raises(ValidationError, match="no draft or hidden status"):
        services.resolve_delete(conflict, user=user, action="archive")
    with pytest.raises(ValidationError, match="Choose one of"):
        services.resolve_delete(conflict, user=user, action="shred")


def test_resolve_and_resolve_delete_check_the_kind(project, user):
    edit = plain_conflict(project, 1)
    gone = plain_conflict(project, 2, kind="delete", fields=[])
    with pytest.raises(ValidationError, match="not a delete conflict"):
        services.resolve_delete(edit, user=user, action="keep")
    with pytest.raises(ValidationError, match="not an edit conflict"):
        services.resolve(gone, user=user, choices={})


def test_dismiss_writes_nothing_and_is_audited(project, user):
    conflict = plain_conflict(project)

    with pytest.raises(ValidationError, match="Say why"):
        services.dismiss(conflict, user, "  ")
    services.dismiss(conflict, user, "fixed by hand on both stores")

    conflict.refresh_from_db()
    assert conflict.status == "dismissed" and conflict.resolution == {
        "reason": "fixed by hand on both stores"
    }
    [event] = AuditEvent.objects.filter(action="conflict.dismissed")
    assert event.payload["reason"] == "fixed by hand on both stores"
    with pytest.raises(StateConflict, match=f"Already dismissed by {user.get_username()}"):
        services.dismiss(conflict, user, "again")


def test_queue_filters(project):
    old = plain_conflict(project, 1, fields=["price"])
    Conflict.objects.filter(pk=old.pk).update(created_at=timezone.now() - timedelta(days=3))
    plain_conflict(project, 2, fields=["name", "price"])
    plain_conflict(project, 3, entity="customers", fields=["email"])
    plain_conflict(project, 4, status="resolved")

    def ids(**kwargs):
        return sorted(int(c.source_id) for c in services.open_conflicts(project, **kwargs))

    assert ids() == [1, 2, 3]
    assert ids(entity="products") == [1, 2]
    assert ids(field="price") == [1, 2]
    assert ids(field="pri") == []
    assert ids(older_than=timedelta(days=1)) == [1]
    assert services.entity_counts(project) == {"customers": 1, "products": 2}
    assert services.conflicting_fields(project) == ["email", "name", "price"]
    assert services.parse_age("7d") == timedelta(days=7)
    assert services.parse_age("90") == timedelta(seconds=90)
    with pytest.raises(ValueError, match="duration"):
        services.parse_age("soon")


def test_bulk_resolve_stops_at_its_limits(migrated, merchandiser):
    first, second, third = record_maps(migrated)
    for rm in (first, second, third):
        edit_conflict(migrated, rm, source={"name": f"S{rm.pk}"}, target={"name": f"T{rm.pk}"})
    project = migrated.project

    capped = services.bulk_resolve(
        project, user=merchandiser, entity="products", side="source", limit=1
    )
    assert (len(capped.resolved), capped.remaining) == (1, 2)
    out_of_time = services.bulk_resolve(
        project, user=merchandiser, entity="products", side="source", seconds=-1
    )
    assert (out_of_time.resolved, out_of_time.remaining) == ([], 2)
    rest = services.bulk_resolve(project, user=merchandiser, entity="products", side="source")
    assert (len(rest.resolved), rest.remaining) == (2, 0)
