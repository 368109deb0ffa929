"""A flaky target loses and doubles nothing: 5xx answers, timeouts and creates that commit and
then drop the connection, injected by the sandbox, through the in-process transport."""

from __future__ import annotations

from collections import Counter

from apps.runs.choices import Action, MapStatus, RunKind, RunStatus
from apps.runs.engine import run_inline
from apps.runs.models import RecordMap
from apps.runs.services import start_run


def test_commit_then_drop_and_5xx_and_timeouts_duplicate_nothing(rehearsal, settings):
    settings.HTTP_BACKOFF_SECONDS = 0.001
    settings.HTTP_MAX_ATTEMPTS = 8
    target = rehearsal.target
    target.drop_rate, target.error_rate, target.timeout_rate = 0.3, 0.1, 0.05
    target.fault_seed = 7
    target.save()

    run = run_inline(start_run(rehearsal.project, kind=RunKind.FULL).pk)

    target.refresh_from_db()
    assert target.fault_draws > 100, "the faults were drawn"
    assert run.status == RunStatus.SUCCEEDED, run.error
    skus = Counter(p["sku"] for p in rehearsal.target_products())
    assert len(skus) == 120 and max(skus.values()) == 1
    assert Counter(run.outcomes.values_list("action", flat=True)) == {Action.CREATED: 120}
    maps = RecordMap.objects.filter(project=rehearsal.project)
    assert maps.filter(status=MapStatus.SYNCED).count() == 120
    assert len(set(maps.values_list("target_id", flat=True))) == 120
