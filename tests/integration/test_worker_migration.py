"""A real Celery worker process migrates a sandbox catalog through real HTTP (a live server),
on whatever database and broker the suite runs with (SQLite + filesystem broker, or PostgreSQL
+ Redis in CI's second pass)."""

from __future__ import annotations

from collections import Counter

import pytest
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from apps.runs.choices import Action, RunKind, RunStatus
from apps.runs.services import start_run
from tests.support.live import celery_worker, wait_for_run_end
from tests.support.rehearsal import make_rehearsal

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]


def test_real_worker_migrates_the_catalog_over_http(live_server, tmp_path, settings):
    rehearsal = make_rehearsal(None, products=250, base=live_server.url)
    admin = rehearsal.project.memberships.get().user
    log = tmp_path / "worker.log"

    with celery_worker(log):
        run = start_run(rehearsal.project, kind=RunKind.FULL, user=admin)
        run = wait_for_run_end(run.pk, timeout=240, log_path=log)
        assert run.status == RunStatus.SUCCEEDED, (run.error, log.read_text()[-3000:])

        skus = [p["sku"] for p in rehearsal.target_products()]
        assert len(skus) == len(set(skus)) == 250

        client = APIClient()
        client.credentials(HTTP_AUTHORIZATION=f"Token {Token.objects.create(user=admin).key}")
        body = client.get(f"/api/v1/runs/{run.pk}/").json()
        assert body["status"] == "succeeded"
        [products] = [e for e in body["entities"] if e["entity"] == "products"]
        assert (products["total"], products["created"], products["failed"]) == (250, 250, 0)

        # A second run over the same catalog writes nothing new.
        again = start_run(rehearsal.project, kind=RunKind.FULL, user=admin)
        again = wait_for_run_end(again.pk, timeout=240, log_path=log)
        assert again.status == RunStatus.SUCCEEDED, again.error
        assert Counter(again.outcomes.values_list("action", flat=True)) == {Action.UNCHANGED: 250}
        assert len(rehearsal.target_products()) == 250

    # The worker's whole log (INFO, every task) names no credential.
    worker_log = log.read_text(errors="replace")
    assert "runs.process_batch" in worker_log
    for secret in [
        *rehearsal.source_credentials.values(),
        rehearsal.target_credentials["access_token"],
    ]:
        assert secret not in worker_log
