"""Credentials appear in no log line, even when a store refuses them."""

from __future__ import annotations

import logging

from apps.runs.choices import RunKind, RunStatus
from apps.runs.engine import run_inline
from apps.runs.services import start_run
from apps.stores.services import update_store


def secrets_of(rehearsal) -> list[str]:
    return [*rehearsal.source_credentials.values(), rehearsal.target_credentials["access_token"]]


def test_a_run_logs_no_credential(rehearsal, caplog):
    caplog.set_level(logging.DEBUG)
    run = run_inline(start_run(rehearsal.project, kind=RunKind.FULL).pk)
    assert run.status == RunStatus.SUCCEEDED
    for secret in secrets_of(rehearsal):
        assert secret not in caplog.text


def test_a_refused_token_fails_the_run_with_a_reason_that_names_no_secret(rehearsal, caplog):
    caplog.set_level(logging.DEBUG)
    target = rehearsal.project.target_store
    wrong = {
        "store_hash": rehearsal.target_credentials["store_hash"],
        "access_token": "wrong-tok-1",
    }
    update_store(target, user=None, credentials=wrong)

    run = run_inline(start_run(rehearsal.project, kind=RunKind.FULL).pk)

    assert run.status == RunStatus.PARTIALLY_FAILED
    batch = run.batches.exclude(error="").first()
    reasons = batch.error + " ".join(run.outcomes.values_list("reason", flat=True))
    assert "401" in reasons or "Unauthorized" in reasons or "auth" in reasons.lower()
    for secret in [*secrets_of(rehearsal), "wrong-tok-1"]:
        assert secret not in caplog.text
        assert secret not in reasons
