"""A whole store (category tree, brands, products, customers, orders, posts) reconciles after a
full run: every entity's equation holds and nothing is reported as a mismatch — references
are compared in target terms and lossy mappings are excused as the engine excuses them."""

from __future__ import annotations

from apps.runs.choices import RunKind, RunStatus
from apps.runs.engine import run_inline
from apps.runs.services import start_run
from apps.sandbox.demo_catalog import seed_store
from apps.stores.connectors.canonical import ENTITIES
from tests.reconciliation.conftest import verify
from tests.support.rehearsal import make_rehearsal


def test_a_whole_store_reconciles(sandbox_http):
    rehearsal = make_rehearsal(sandbox_http, products=0)
    seed_store(
        rehearsal.source,
        20,
        categories=True,
        brands=True,
        customers=15,
        orders=20,
        posts=4,
        messy=True,
    )
    rehearsal.project.entities = list(ENTITIES)
    rehearsal.project.save()
    full = run_inline(start_run(rehearsal.project, kind=RunKind.FULL).pk)
    assert full.status in (RunStatus.SUCCEEDED, RunStatus.PARTIALLY_FAILED), full.error

    run = verify(rehearsal)

    assert run.status == RunStatus.SUCCEEDED, run.error
    report = run.reconciliation_report
    rows = {row.entity: row for row in report.entities.all()}
    assert set(rows) == set(ENTITIES)
    for entity, row in rows.items():
        assert row.source_count > 0, entity
        assert row.equation_holds, row.equation
        assert (
            row.source_count == run.outcomes.model.objects.filter(run=full, entity=entity).count()
        ), entity
    mismatches = list(report.items.filter(kind="mismatch").values("entity", "diffs")[:5])
    assert mismatches == []
    assert not report.items.filter(kind__in=["missing", "orphan"]).exists()
