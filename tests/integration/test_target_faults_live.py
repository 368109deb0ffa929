"""A flaky, rate-limited target under real processes: gunicorn serves a BigCommerce sandbox
that answers 10 % 5xx, 5 % timeouts, drops 10 % of writes after committing them, and has a small
quota that three worker processes with separate budgets overrun (a 429 storm). The run loses
nothing, doubles nothing and fails no record."""

from __future__ import annotations

import re
from collections import Counter

import pytest

from apps.runs.choices import Action, RunKind, RunStatus
from apps.runs.services import start_run
from tests.support.live import celery_worker, gunicorn_server, wait_for_run_end
from tests.support.rehearsal import make_rehearsal

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]

PRODUCTS = 200
WORKER_ENV = {
    # Each worker process keeps its own budget, so together they overrun the quota.
    "MIGRATOR_RATE_LIMIT_BACKEND": "local",
    "MIGRATOR_HTTP_TIMEOUT": "1",
    "MIGRATOR_HTTP_BACKOFF": "0.05",
    "MIGRATOR_HTTP_MAX_ATTEMPTS": "8",
}


def test_5xx_timeouts_dropped_writes_and_a_429_storm_lose_and_double_nothing(tmp_path):
    web_log = tmp_path / "web.log"
    with gunicorn_server(web_log, workers=2, threads=8) as url:
        rehearsal = make_rehearsal(None, products=PRODUCTS, base=url)
        target = rehearsal.target
        target.error_rate, target.timeout_rate, target.drop_rate = 0.10, 0.05, 0.10
        target.timeout_hang_ms = 1500
        target.quota_requests, target.quota_window_ms = 4, 500
        target.save()
        with celery_worker(tmp_path / "worker.log", concurrency=3, extra_env=WORKER_ENV):
            run = start_run(rehearsal.project, kind=RunKind.FULL)
            run = wait_for_run_end(run.pk, timeout=400, log_path=tmp_path / "worker.log")

    statuses = Counter(re.findall(r'HTTP/1\.[01]" (\d{3}) ', web_log.read_text()))
    assert statuses["429"] >= 10, f"no 429 storm happened: {statuses}"
    assert statuses["500"] + statuses["502"] + statuses["503"] > 0, statuses
    assert run.status == RunStatus.SUCCEEDED, run.error
    skus = Counter(p["sku"] for p in rehearsal.target_products())
    assert len(skus) == PRODUCTS and max(skus.values()) == 1
    assert Counter(run.outcomes.values_list("action", flat=True)) == {Action.CREATED: PRODUCTS}
