"""A real Celery worker process for tests that need one, sharing the test database and broker."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from urllib.parse import quote

from django.conf import settings
from django.db import connection

from apps.runs.models import Run
from migrator.celery import app as celery_app


def database_url() -> str:
    """The URL of the database this test is using (the test database, not the dev one)."""
    db = connection.settings_dict
    if db["ENGINE"].endswith("sqlite3"):
        return f"sqlite:///{db['NAME']}"
    auth = quote(db["USER"] or "")
    if db.get("PASSWORD"):
        auth += ":" + quote(db["PASSWORD"])
    host = db["HOST"] or "127.0.0.1"
    return f"postgres://{auth}@{host}:{db['PORT'] or 5432}/{db['NAME']}"


def purge_broker() -> None:
    """Drop messages an earlier test run left behind (their ids may match new rows)."""
    celery_app.control.purge()


@contextmanager
def celery_worker(
    log_path: Path, concurrency: int = 2, extra_env: dict | None = None
) -> Iterator[subprocess.Popen]:
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "migrator.settings_test",
        "MIGRATOR_ENV": "test",
        "DATABASE_URL": database_url(),
        "MIGRATOR_VAR_DIR": str(settings.VAR_DIR),
        **(extra_env or {}),
    }
    if settings.REDIS_URL:
        env["REDIS_URL"] = settings.REDIS_URL
    purge_broker()
    with open(log_path, "wb") as log:
        worker = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "celery",
                "-A",
                "migrator",
                "worker",
                "--loglevel",
                "INFO",
                "--concurrency",
                str(concurrency),
                "--without-mingle",
                "--without-gossip",
                "--hostname",
                f"test-{os.getpid()}@%h",
            ],
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
            cwd=settings.BASE_DIR,
        )
        try:
            yield worker
        finally:
            worker.terminate()
            try:
                worker.wait(timeout=20)
            except subprocess.TimeoutExpired:
                worker.kill()
                worker.wait()


def wait_for_run_end(run_id: int, timeout: float, log_path: Path | None = None) -> Run:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        run = Run.objects.get(pk=run_id)
        if not run.is_live:
            return run
        time.sleep(0.5)
    tail = log_path.read_text(errors="replace")[-4000:] if log_path else ""
    raise AssertionError(f"run {run_id} still {run.status} after {timeout}s; worker log:\n{tail}")
