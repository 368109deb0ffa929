"""Verify runs over the sandboxes' real HTTP APIs: the equation, mismatches with field diffs,
missing records, orphans, failed and excluded records, spot checks, re-delivery."""

from __future__ import annotations

from collections import Counter
from datetime import timedelta

import pytest
from django.utils import timezone

from apps.reconciliation import services, tasks
from apps.reconciliation.models import (
    EntityReconciliation,
    ImportantRecord,
    ReconciliationItem,
    ReconciliationReport,
)
from apps.runs.choices import Action, RunKind, RunStatus
from apps.runs.engine import run_inline
from apps.runs.models import Run
from apps.runs.services import start_run
from apps.sandbox.demo_catalog import seed_store
from apps.stores.connectors.base import WriteItem
from apps.stores.models import Store
from tests.reconciliation.conftest import (
    PRODUCTS,
    edit_target,
    product_maps,
    target_connector,
    verify,
)
from tests.support.rehearsal import make_rehearsal


def items(report, kind):
    return list(report.items.filter(kind=kind).order_by("id"))


def test_after_a_full_run_the_equation_holds_with_nothing_mismatched(migrated):
    run = verify(migrated)

    assert run.status == RunStatus.SUCCEEDED, run.error
    assert run.plan["order"] == ["products"]
    assert run.plan["entities"]["products"] == {"total": PRODUCTS, "batches": 0, "points": 0}
    report = run.reconciliation_report
    [row] = report.entities.all()
    assert (row.source_count, row.target_count, row.mapped, row.matched) == (PRODUCTS,) * 4
    assert (row.mismatched, row.missing, row.orphans, row.failed, row.excluded) == (0,) * 5
    assert row.equation_holds
    assert row.equation == f"source {PRODUCTS} = target {PRODUCTS} + failed 0 + excluded 0"
    assert not report.items.exists()
    summary = report.summary()
    assert summary["equation_holds"] is True
    assert {k: summary[k] for k in ("source", "target", "mismatched", "missing")} == {
        "source": PRODUCTS,
        "target": PRODUCTS,
        "mismatched": 0,
        "missing": 0,
    }
    assert summary["finished_at"] == report.finished_at is not None
    assert services.latest_report(migrated.project) == report


def test_target_edits_deletes_and_extra_records_are_reported(migrated):
    edited, deleted, *_ = product_maps(migrated)
    edit_target(migrated, edited.target_id, lambda r: r.update(name="Renamed on the target"))
    connector = target_connector(migrated)
    [result] = connector.delete("products", [deleted.target_id])
    assert result.ok, result.error
    [raw] = connector.read_by_ids("products", [edited.target_id])
    extra = {
        **connector.to_canonical("products", raw),
        "sku": "ORPHAN-1",
        "name": "Made on the target",
        "slug": "made-on-the-target",
        "variants": [],
        "options": [],
    }
    [created] = connector.create(
        "products", [WriteItem(ref="x", payload=connector.from_canonical("products", extra))]
    )
    assert created.ok, created.error

    run = verify(migrated)

    assert run.status == RunStatus.SUCCEEDED, run.error
    report = run.reconciliation_report
    [row] = report.entities.all()
    assert row.source_count == PRODUCTS and row.target_count == PRODUCTS
    assert (row.matched, row.mismatched, row.missing, row.orphans) == (PRODUCTS - 2, 1, 1, 1)
    assert not row.equation_holds
    assert "≠" in row.equation

    [mismatch] = items(report, "mismatch")
    assert (mismatch.source_id, mismatch.target_id) == (edited.source_id, edited.target_id)
    assert mismatch.diffs == [
        {"field": "name", "source": edited.canonical["name"], "target": "Renamed on the target"}
    ]
    assert "edited on the target" in mismatch.reason
    assert mismatch.source_hash and mismatch.target_hash != mismatch.source_hash

    [missing] = items(report, "missing")
    assert (missing.source_id, missing.natural_key) == (deleted.source_id, deleted.natural_key)
    assert f"mapped to target record {deleted.target_id}" in missing.reason

    [orphan] = items(report, "orphan")
    assert (orphan.target_id, orphan.natural_key) == (str(created.target_id), "ORPHAN-1")

    summary = report.summary()
    assert (summary["mismatched"], summary["missing"], summary["orphans"]) == (1, 1, 1)
    assert summary["equation_holds"] is False


@pytest.fixture
def with_failures(sandbox_http):
    """A bad product (negative price) and customers whose emails repeat, migrated."""
    rehearsal = make_rehearsal(sandbox_http, products=PRODUCTS)
    seed_store(rehearsal.source, PRODUCTS, customers=30, messy=True)
    with rehearsal.woo() as woo:
        response = woo.post(
            "products", json={"name": "Negative", "regular_price": "-5.00", "sku": "NEG-1"}
        )
        assert response.status_code == 201, response.text
    rehearsal.project.entities = ["products", "customers"]
    rehearsal.project.save()
    rehearsal.full = run_inline(start_run(rehearsal.project, kind=RunKind.FULL).pk)
    assert rehearsal.full.status == RunStatus.PARTIALLY_FAILED, rehearsal.full.error
    return rehearsal


def test_failed_and_excluded_records_are_counted_and_the_equation_holds(with_failures):
    outcomes = Counter(
        (o.entity, o.action if not o.reason.startswith("excluded") else "excluded")
        for o in with_failures.full.outcomes.all()
    )
    assert outcomes[("products", Action.FAILED)] == 1
    assert outcomes[("customers", "excluded")] >= 1, "the messy customers repeat emails"

    run = verify(with_failures)

    assert run.status == RunStatus.SUCCEEDED, run.error
    report = run.reconciliation_report
    rows = {row.entity: row for row in report.entities.all()}
    assert list(rows) == ["products", "customers"]
    for entity, row in rows.items():
        assert row.failed == outcomes[(entity, Action.FAILED)], entity
        assert row.excluded == outcomes[(entity, "excluded")], entity
        assert (row.missing, row.mismatched, row.orphans) == (0, 0, 0), entity
        assert row.source_count == row.matched + row.failed + row.excluded
        assert row.equation_holds, row.equation
    [failed] = report.items.filter(kind="failed", entity="products")
    assert "negative" in failed.reason and failed.natural_key == "NEG-1"
    excluded = report.items.filter(kind="excluded")
    assert excluded.count() == rows["customers"].excluded
    assert all(e.reason.startswith("excluded: same email") and e.target_id for e in excluded)
    assert report.summary()["equation_holds"] is True


def test_spot_checks_read_whole_records_and_find_a_variant_difference(migrated):
    variable = next(m for m in product_maps(migrated) if m.canonical.get("variants"))
    plain = next(m for m in product_maps(migrated) if m.pk != variable.pk)
    for key in (variable.natural_key, plain.natural_key, "NO-SUCH-SKU"):
        ImportantRecord.objects.create(project=migrated.project, entity="products", natural_key=key)
    variant_sku = variable.canonical["variants"][0]["sku"]

    def cheaper(record):
        variant = next(v for v in record["variants"] if v["sku"] == variant_sku)
        variant["price"] = "1.23"

    edit_target(migrated, variable.target_id, cheaper)

    report = verify(migrated).reconciliation_report

    checks = {c.natural_key: c for c in items(report, "spot_check")}
    assert checks[plain.natural_key].passed is True
    assert checks[plain.natural_key].diffs == []
    broken = checks[variable.natural_key]
    assert broken.passed is False
    assert broken.diffs == [
        {
            "field": f"variants[{variant_sku}].price",
            "source": variable.canonical["variants"][0]["price"],
            "target": "1.23",
        }
    ]
    assert (broken.source_id, broken.target_id) == (variable.source_id, variable.target_id)
    assert checks["NO-SUCH-SKU"].passed is False
    assert "not found on the source" in checks["NO-SUCH-SKU"].reason
    assert report.summary()["spot_checks_failed"] == 2
    # The same edit shows as a mismatch with the same deep diff.
    [mismatch] = items(report, "mismatch")
    assert mismatch.diffs == broken.diffs


def test_redelivering_the_verify_task_rebuilds_without_duplicates(migrated):
    edited = product_maps(migrated)[0]
    edit_target(migrated, edited.target_id, lambda r: r.update(name="Edited"))
    run = verify(migrated)
    report = run.reconciliation_report
    before = sorted(report.items.values_list("kind", "source_id", "target_id"))
    assert before, "the edit should be reported"

    # A worker died after writing the report, before ending the run: the message comes again.
    Run.objects.filter(pk=run.pk).update(status=RunStatus.RUNNING, finished_at=None)
    tasks.verify_run.run(run.pk)
    tasks.verify_run.run(run.pk)  # and once more after the run ended: nothing happens

    run.refresh_from_db()
    assert run.status == RunStatus.SUCCEEDED
    assert ReconciliationReport.objects.filter(run=run).count() == 1
    assert EntityReconciliation.objects.filter(report__run=run).count() == 1
    assert sorted(report.items.values_list("kind", "source_id", "target_id")) == before
    assert ReconciliationItem.objects.filter(report__run=run).count() == len(before)


def test_a_delivery_waits_while_another_worker_holds_the_report(migrated):
    edit_target(migrated, product_maps(migrated)[0].target_id, lambda r: r.update(name="E"))
    run = verify(migrated)
    report = run.reconciliation_report
    before = report.items.count()
    assert before == 1
    Run.objects.filter(pk=run.pk).update(status=RunStatus.RUNNING, finished_at=None)
    ReconciliationReport.objects.filter(pk=report.pk).update(
        lease_owner="other-worker", lease_expires_at=timezone.now() + timedelta(seconds=30)
    )

    wait = services.execute(run.pk)

    assert wait is not None and 25 < wait <= 30
    assert report.items.count() == before
    assert Run.objects.get(pk=run.pk).status == RunStatus.RUNNING

    # The holder died: once its lease has expired the next delivery rebuilds the report.
    ReconciliationReport.objects.filter(pk=report.pk).update(
        lease_expires_at=timezone.now() - timedelta(seconds=1)
    )
    assert services.execute(run.pk) is None
    report.refresh_from_db()
    assert Run.objects.get(pk=run.pk).status == RunStatus.SUCCEEDED
    assert report.items.count() == before and report.finished_at is not None
    assert report.lease_owner == ""


def test_a_store_that_cannot_be_read_fails_the_run_with_the_reason(migrated):
    store = migrated.project.target_store
    Store.objects.filter(pk=store.pk).update(base_url=store.base_url + "-gone")

    run = verify(migrated)

    assert run.status == RunStatus.FAILED
    assert run.error.startswith("Cannot read products from the target store")
    assert services.latest_report(migrated.project) is None


def test_the_verify_task_ignores_other_kinds_and_missing_runs(migrated):
    full = migrated.project.runs.get(kind=RunKind.FULL)
    tasks.verify_run.run(full.pk)
    tasks.verify_run.run(999999)
    assert not ReconciliationReport.objects.exists()


def test_a_known_lossy_mapping_is_not_a_mismatch_but_a_source_change_is(migrated):
    """BigCommerce stores an untracked variant's stock as 0: the engine's last write made that
    difference, so it is excused; the source's later rename is reported, alone."""
    lossy = next(
        m
        for m in product_maps(migrated)
        if any(v["stock"] is None for v in m.canonical.get("variants") or [])
    )
    with migrated.woo() as woo:
        response = woo.put(f"products/{lossy.source_id}", json={"name": "Renamed at the source"})
        assert response.status_code == 200, response.text

    report = verify(migrated).reconciliation_report

    [row] = report.entities.all()
    assert (row.matched, row.mismatched, row.missing) == (PRODUCTS - 1, 1, 0)
    assert row.equation_holds  # a stale record is on the target: nothing is lost
    [mismatch] = items(report, "mismatch")
    assert mismatch.diffs == [
        {"field": "name", "source": "Renamed at the source", "target": lossy.canonical["name"]}
    ]
    assert mismatch.reason == "changed at the source since the last sync"


def test_the_lossy_stock_mapping_is_noted_on_the_record_it_touched(migrated):
    """The merchant learns from the run, not the storefront, which variants BigCommerce will
    show with stock 0; a product whose variants all track stock carries no note."""
    full = migrated.project.runs.get(kind=RunKind.FULL)
    mixed, tracked = [], []
    for m in product_maps(migrated):
        stocks = [v["stock"] for v in m.canonical.get("variants") or []]
        if None in stocks and any(s is not None for s in stocks):
            mixed.append(m)
        elif stocks and None not in stocks:
            tracked.append(m)
    assert mixed and tracked
    for m in mixed:
        outcome = full.outcomes.get(entity="products", source_id=m.source_id)
        assert outcome.action == "created"
        untracked = [v["sku"] for v in m.canonical["variants"] if v["stock"] is None]
        assert "tracks no stock at the source" in outcome.reason
        assert all(repr(sku) in outcome.reason for sku in untracked[:5])
        assert outcome.reason_key == ""  # a note, not a failure
    for m in tracked:
        outcome = full.outcomes.get(entity="products", source_id=m.source_id)
        assert "tracks no stock" not in outcome.reason


def test_an_unexpected_error_fails_the_run_instead_of_leaving_it_running(migrated, monkeypatch):
    def boom(self):
        raise RuntimeError("disk on fire")

    monkeypatch.setattr(services.EntityVerifier, "run", boom)

    run = verify(migrated)

    assert run.status == RunStatus.FAILED
    assert run.error == "Verify failed: RuntimeError: disk on fire"
    assert services.latest_report(migrated.project) is None
