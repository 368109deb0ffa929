"""A dry run as a plan: per entity what the rehearsed run would do, nothing written to the
target, and "Start this run for real" starting the rehearsed kind with the same options.

The rehearsal runs in this process against the sandboxes (apps.runs.engine.run_inline). Runs
happen before the test client is used: the client reconnects Django's close_old_connections,
which an in-process sandbox request would then fire on the test's connection."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from apps.conflicts.models import Conflict
from apps.core.models import AuditEvent
from apps.runs import rehearsals
from apps.runs.choices import RunKind, RunStatus
from apps.runs.engine import run_inline
from apps.runs.models import JournalEntry, RecordMap, Run
from apps.runs.services import entity_progress, start_run
from tests.support.rehearsal import make_rehearsal
from tests.views.conftest import make_run


@pytest.fixture
def synced(sandbox_http):
    rehearsal = make_rehearsal(sandbox_http, products=12)
    full = run_inline(start_run(rehearsal.project, kind=RunKind.FULL).pk)
    assert full.status == RunStatus.SUCCEEDED, full.error
    return rehearsal


def products(rehearsal) -> list[tuple[str, str]]:
    return list(
        RecordMap.objects.filter(project=rehearsal.project, entity="products")
        .order_by("id")
        .values_list("source_id", "target_id")
    )


def target_state(rehearsal) -> list[tuple]:
    return list(
        rehearsal.target.records.order_by("resource", "object_id").values_list(
            "resource", "object_id", "sku", "name", "data", "date_modified"
        )
    )


def change_both_stores(rehearsal) -> None:
    """One record of each kind of change: an update, a merge, a conflict, a create, a delete."""
    (updated, _), (merged, merged_t), (clash, clash_t), (gone, _) = products(rehearsal)[:4]
    with rehearsal.woo() as woo:
        assert woo.put(f"products/{updated}", json={"name": "Updated"}).status_code == 200
        assert woo.put(f"products/{merged}", json={"name": "Merged name"}).status_code == 200
        assert woo.put(f"products/{clash}", json={"name": "Source says"}).status_code == 200
        new = {"name": "Brand new", "sku": "NEW-1", "regular_price": "5.00"}
        assert woo.post("products", json=new).status_code == 201
        assert woo.delete(f"products/{gone}", params={"force": "true"}).status_code == 200
    with rehearsal.big() as big:
        edit = big.put(f"catalog/products/{merged_t}", json={"description": "<p>Target copy</p>"})
        assert edit.status_code == 200
        assert (
            big.put(f"catalog/products/{clash_t}", json={"name": "Target says"}).status_code == 200
        )


@pytest.fixture
def planned(synced):
    # A dry run counts a record deleted at the source as a delete whatever the policy; the
    # real run, under the default "review", sends it to the review queue instead.
    synced.project.delete_policies = {"products": "propagate"}
    synced.project.save()
    change_both_stores(synced)
    before = (target_state(synced), list(RecordMap.objects.values()), Conflict.objects.count())
    dry = run_inline(
        start_run(synced.project, kind=RunKind.DRY_RUN, options={"of": "delta", "deletes": True}).pk
    )
    assert dry.status == RunStatus.SUCCEEDED, dry.error
    return synced, dry, before


def test_the_plan_counts_each_change_and_writes_nothing(planned, client):
    rehearsal, dry, (target_before, maps_before, conflicts_before) = planned

    # Nothing reached the target or the project's records.
    assert target_state(rehearsal) == target_before
    assert list(RecordMap.objects.values()) == maps_before
    assert Conflict.objects.count() == conflicts_before == 0
    assert not JournalEntry.objects.filter(run=dry).exists()
    assert not rehearsal.target.records.filter(sku="NEW-1").exists()

    [row] = rehearsals.plan_rows(
        entity_progress(dry), rehearsals.points_read(dry, entity_progress(dry))
    )
    assert (row.create, row.update, row.merge, row.conflict, row.delete) == (1, 1, 1, 1, 1)
    read = row.create + row.update + row.merge + row.conflict + row.delete + row.unchanged
    assert row.points == 5 * read  # products weigh 5 points a record

    admin = rehearsal.project.memberships.get().user
    client.force_login(admin)
    html = client.get(reverse("runs:detail", args=[dry.pk])).text
    assert 'id="dry-run-plan"' in html and 'data-ready="true"' in html
    assert 'data-of="delta" data-deletes="true"' in html
    assert (
        'data-entity="products" data-create="1" data-update="1" data-merge="1" '
        'data-conflict="1" data-delete="1"'
    ) in html
    assert f'data-points="{row.points}"' in html
    assert "nothing was written to the target" in html
    assert 'id="start-for-real"' in html
    assert 'id="run-rehearses"' in html and 'id="run-window"' in html


def test_start_for_real_starts_the_rehearsed_delta_with_its_options(planned, client):
    rehearsal, dry, _ = planned
    admin = rehearsal.project.memberships.get().user
    client.force_login(admin)

    response = client.post(reverse("runs:start_for_real", args=[dry.pk]))

    real = Run.objects.get(kind=RunKind.DELTA)
    assert response.status_code == 302
    assert response["Location"] == reverse("runs:detail", args=[real.pk])
    assert real.options == {"deletes": True}
    assert real.created_by == admin
    event = AuditEvent.objects.get(action="run.started", object_id=str(real.pk))
    assert event.payload["deletes"] is True and event.payload["kind"] == "delta"


def test_the_real_run_does_what_the_plan_said(planned):
    rehearsal, dry, _ = planned
    plan = {p.entity: p for p in entity_progress(dry)}["products"]

    real = run_inline(rehearsals.start_for_real(dry, user=None).pk)

    done = {p.entity: p for p in entity_progress(real)}["products"]
    fields = ("created", "updated", "merged", "conflicts", "deleted", "unchanged")
    assert [getattr(done, f) for f in fields] == [getattr(plan, f) for f in fields]
    assert rehearsal.target.records.filter(sku="NEW-1").exists()


def test_a_plan_of_a_full_run_starts_a_full_run(project, admin_user, client):
    dry = make_run(
        project, status=RunStatus.SUCCEEDED, kind=RunKind.DRY_RUN, options={"of": "full"}
    )
    client.force_login(admin_user)

    client.post(reverse("runs:start_for_real", args=[dry.pk]))

    real = Run.objects.exclude(pk=dry.pk).get()
    assert (real.kind, real.options) == (RunKind.FULL, {})


def test_no_start_for_real_while_the_rehearsal_runs_or_for_other_runs(project, admin_user, client):
    live = make_run(project, kind=RunKind.DRY_RUN, options={"of": "full"})
    client.force_login(admin_user)
    html = client.get(reverse("runs:detail", args=[live.pk])).text
    assert 'id="start-for-real"' not in html and 'id="plan-pending"' in html
    response = client.post(reverse("runs:start_for_real", args=[live.pk]), follow=True)
    assert "start it for real once it has succeeded" in response.text
    Run.objects.filter(pk=live.pk).update(status=RunStatus.SUCCEEDED)

    full = make_run(project, status=RunStatus.FAILED)
    response = client.post(reverse("runs:start_for_real", args=[full.pk]), follow=True)
    assert "is not a dry run" in response.text
    assert Run.objects.count() == 2


def test_merchandiser_sees_the_plan_but_cannot_start_it(project, merchandiser_user, client):
    dry = make_run(
        project, status=RunStatus.SUCCEEDED, kind=RunKind.DRY_RUN, options={"of": "full"}
    )
    client.force_login(merchandiser_user)
    html = client.get(reverse("runs:detail", args=[dry.pk])).text
    assert 'id="dry-run-plan"' in html and 'id="start-for-real"' not in html
    assert client.post(reverse("runs:start_for_real", args=[dry.pk])).status_code == 403
    assert Run.objects.count() == 1


def test_non_member_cannot_start_a_plan(project, outsider, client):
    dry = make_run(
        project, status=RunStatus.SUCCEEDED, kind=RunKind.DRY_RUN, options={"of": "full"}
    )
    client.force_login(outsider)
    assert client.post(reverse("runs:start_for_real", args=[dry.pk])).status_code == 404


def test_a_plan_overtaken_by_a_sync_says_so(project, manager_user, client):
    now = timezone.now()
    dry = make_run(
        project,
        status=RunStatus.SUCCEEDED,
        kind=RunKind.DRY_RUN,
        options={"of": "delta"},
        until=now - timedelta(hours=1),
    )
    later = make_run(project, status=RunStatus.SUCCEEDED, kind=RunKind.DELTA, until=now)
    client.force_login(manager_user)

    html = client.get(reverse("runs:detail", args=[dry.pk])).text

    assert f'id="plan-stale" data-run-id="{later.pk}"' in html
