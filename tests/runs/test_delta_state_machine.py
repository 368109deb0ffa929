"""Random histories of a store being migrated while both sides keep changing.

Hypothesis interleaves source edits (name, price), target edits (description), creates and
deletes at the source, deltas, and deltas whose worker dies after writing to the target and
before committing (the batch is taken over after its lease expires). After draining with a
final delta, the target must equal the source with the policies applied — source edits win
on the fields the source changed, the target's own edits to other fields are kept, deletes
are propagated — and RecordMap must be a bijection between live source and target records.
"""

from __future__ import annotations

import itertools
from datetime import timedelta

import pytest
from django.utils import timezone
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, rule

from apps.runs import batches
from apps.runs.choices import MapStatus, RunKind, RunStatus
from apps.runs.engine import plan_run, process_batch, run_inline
from apps.runs.models import EntityBatch, RecordMap
from apps.runs.processing import BatchProcessor
from apps.runs.services import start_run
from apps.stores.services import build_connector
from tests.support.rehearsal import make_rehearsal

_slugs = itertools.count()


class WorkerDied(Exception):
    pass


class StoreHistory(RuleBasedStateMachine):
    transport = None

    @initialize()
    def baseline(self) -> None:
        n = next(_slugs)
        self.rehearsal = make_rehearsal(self.transport, products=4, slug_suffix=f"-sm{n}")
        self.project = self.rehearsal.project
        self.project.delete_policies = {"products": "propagate"}
        self.project.save()
        assert self._run(RunKind.FULL).status == RunStatus.SUCCEEDED
        self.next_sku = 0
        # The target's own description edits, by SKU: they must survive every sync.
        self.target_descriptions: dict[str, str] = {}

    # --- the merchant, on both stores ---------------------------------------------------------
    def _source_ids(self) -> list[int]:
        return sorted(
            self.rehearsal.source.records.filter(resource="product").values_list(
                "object_id", flat=True
            )
        )

    @rule(data=st.data(), price=st.integers(min_value=1, max_value=500))
    def edit_source_price(self, data, price) -> None:
        ids = self._source_ids()
        if ids:
            product_id = data.draw(st.sampled_from(ids))
            with self.rehearsal.woo() as woo:
                woo.put(f"products/{product_id}", json={"regular_price": f"{price}.00"})

    @rule(data=st.data(), word=st.sampled_from(["Alpha", "Beta", "Gamma"]))
    def edit_source_name(self, data, word) -> None:
        ids = self._source_ids()
        if ids:
            product_id = data.draw(st.sampled_from(ids))
            with self.rehearsal.woo() as woo:
                woo.put(f"products/{product_id}", json={"name": f"{word} {product_id}"})

    @rule(data=st.data(), text=st.sampled_from(["<p>new store copy</p>", "<p>sale!</p>"]))
    def edit_target_description(self, data, text) -> None:
        maps = list(
            RecordMap.objects.filter(project=self.project, status=MapStatus.SYNCED).values_list(
                "target_id", "natural_key"
            )
        )
        if maps:
            target_id, sku = data.draw(st.sampled_from(maps))
            with self.rehearsal.big() as big:
                response = big.put(f"catalog/products/{target_id}", json={"description": text})
            if response.status_code == 200:
                self.target_descriptions[sku] = text

    @rule()
    def create_at_source(self) -> None:
        self.next_sku += 1
        with self.rehearsal.woo() as woo:
            woo.post(
                "products",
                json={
                    "name": f"New {self.next_sku} {self.project.pk}",
                    "sku": f"NEW-{self.project.pk}-{self.next_sku}",
                    "regular_price": "9.00",
                },
            )

    @rule(data=st.data())
    def delete_at_source(self, data) -> None:
        ids = self._source_ids()
        if len(ids) > 1:
            product_id = data.draw(st.sampled_from(ids))
            with self.rehearsal.woo() as woo:
                woo.delete(f"products/{product_id}", params={"force": "true"})

    # --- the engine -----------------------------------------------------------------------
    def _run(self, kind, **options):
        return run_inline(start_run(self.project, kind=kind, options=options or None).pk)

    @rule()
    def delta(self) -> None:
        assert self._run(RunKind.DELTA, deletes=True).status in (
            RunStatus.SUCCEEDED,
            RunStatus.PARTIALLY_FAILED,
        )

    @rule()
    def delta_whose_worker_dies_after_writing(self) -> None:
        run = start_run(self.project, kind=RunKind.DELTA)
        queue: list[int] = []
        plan_run(run.pk, enqueue=queue.extend)
        if queue:
            batch = batches.claim(queue[0], owner="doomed")
            processor = BatchProcessor(
                batch,
                build_connector(self.project.source_store),
                build_connector(self.project.target_store),
            )

            def die(*args, **kwargs):
                raise WorkerDied

            # Written to the target, then the worker dies: nothing committed, lease held.
            processor.commit = die
            with pytest.raises(WorkerDied):
                processor.execute()
            EntityBatch.objects.filter(pk=batch.pk).update(
                lease_expires_at=timezone.now() - timedelta(seconds=1)
            )
        while queue:
            process_batch(queue.pop(0), enqueue=queue.extend)
        run.refresh_from_db()
        assert not run.is_live

    # --- what must always hold ------------------------------------------------------------
    @invariant()
    def record_map_is_a_bijection(self) -> None:
        if not hasattr(self, "project"):
            return
        maps = RecordMap.objects.filter(project=self.project).exclude(target_id="")
        targets = list(maps.values_list("target_id", flat=True))
        assert len(targets) == len(set(targets))

    def teardown(self) -> None:
        if not hasattr(self, "project"):
            return
        self.delta()  # drain
        source = build_connector(self.project.source_store)
        target = build_connector(self.project.target_store)
        src = {
            c["sku"]: c
            for c in (
                source.to_canonical("products", r)
                for r in source.read_page("products", None, 100).records
            )
        }
        dst = {
            c["sku"]: c
            for c in (
                target.to_canonical("products", r)
                for r in target.read_page("products", None, 100).records
            )
        }
        assert set(dst) == set(src), "target and source hold different products"
        for sku, record in src.items():
            assert dst[sku]["name"] == record["name"], sku
            assert dst[sku]["price"] == record["price"], sku
            if sku in self.target_descriptions:
                assert dst[sku]["description"] == self.target_descriptions[sku], sku
        maps = RecordMap.objects.filter(project=self.project, status=MapStatus.SYNCED)
        assert sorted(maps.values_list("natural_key", flat=True)) == sorted(src)


@pytest.mark.django_db
def test_random_histories_converge(sandbox_http):
    StoreHistory.transport = sandbox_http
    runner = StoreHistory.TestCase
    runner.settings = settings(
        max_examples=12,
        stateful_step_count=8,
        deadline=None,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
    )
    runner().runTest()
