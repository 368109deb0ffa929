"""Workers SIGKILLed at random moments of a large run lose nothing and duplicate nothing.

Real processes throughout: gunicorn serving the sandboxes, Celery workers (solo pool, so a kill
lands in the middle of a batch), a beat process running the reaper, PostgreSQL and Redis.
The lease is short here (8 s) so that a dead worker's batch is taken over quickly; the bound
on recovery is lease + reaper interval (+ Redis' visibility timeout for the lost message,
which the reaper does not wait for).
"""

from __future__ import annotations

import os
import random
import time
from collections import Counter

import pytest
from django.conf import settings
from django.db.models import Count

from apps.runs.choices import Action, MapStatus, RunKind, RunStatus
from apps.runs.models import RecordMap
from apps.runs.services import start_run
from tests.support.live import (
    celery_beat,
    gunicorn_server,
    process_env,
    purge_broker,
    start_worker,
    wait_for_run_end,
)
from tests.support.rehearsal import make_rehearsal

RECORDS = int(os.environ.get("MIGRATOR_CHAOS_RECORDS", "10000"))
KILLS = int(os.environ.get("MIGRATOR_CHAOS_KILLS", "6"))
WORKERS = 3
CHAOS_ENV = {
    "MIGRATOR_BATCH_LEASE_SECONDS": "8",
    "MIGRATOR_REAPER_INTERVAL": "3",
    "MIGRATOR_RUN_STALL_SECONDS": "30",
}

pytestmark = [
    pytest.mark.integration,
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(
        not settings.REDIS_URL or settings.DATABASES["default"]["ENGINE"].endswith("sqlite3"),
        reason="the chaos test runs on PostgreSQL + Redis (CI's second pass)",
    ),
]


def test_sigkilled_workers_lose_nothing_and_duplicate_nothing(tmp_path):
    rng = random.Random(int(os.environ.get("MIGRATOR_CHAOS_SEED", "20261121")))
    env = process_env(**CHAOS_ENV)
    logs = tmp_path
    with gunicorn_server(logs / "web.log", workers=3, threads=4, extra_env=CHAOS_ENV) as url:
        rehearsal = make_rehearsal(None, products=RECORDS, base=url)
        purge_broker()
        workers = [
            start_worker(logs / "workers.log", name=f"chaos{i}", pool="solo", env=env)
            for i in range(WORKERS)
        ]
        try:
            with celery_beat(logs / "beat.log", extra_env=CHAOS_ENV):
                run = start_run(rehearsal.project, kind=RunKind.FULL)
                kills = 0
                started = time.monotonic()
                while kills < KILLS and time.monotonic() - started < 600:
                    time.sleep(rng.uniform(1.0, 8.0))
                    run.refresh_from_db()
                    if not run.is_live:
                        break
                    victim = rng.randrange(WORKERS)
                    workers[victim].kill()  # SIGKILL: no cleanup, mid-batch
                    workers[victim].wait()
                    kills += 1
                    workers[victim] = start_worker(
                        logs / "workers.log", name=f"chaos{victim}-{kills}", pool="solo", env=env
                    )
                run = wait_for_run_end(run.pk, timeout=900, log_path=logs / "workers.log")
        finally:
            for worker in workers:
                worker.kill()
                worker.wait()

    assert kills == KILLS, f"the run ended after {kills} kills; raise RECORDS"
    assert run.status == RunStatus.SUCCEEDED, run.error
    target = rehearsal.target_products()
    skus = Counter(p["sku"] for p in target)
    assert len(target) == RECORDS, "lost or duplicated products on the target"
    assert max(skus.values()) == 1, "a SKU was created twice"
    maps = RecordMap.objects.filter(project=rehearsal.project, entity="products")
    assert maps.filter(status=MapStatus.SYNCED).count() == RECORDS
    assert not maps.values("target_id").annotate(n=Count("id")).filter(n__gt=1).exists()
    assert Counter(run.outcomes.values_list("action", flat=True)) == {Action.CREATED: RECORDS}
