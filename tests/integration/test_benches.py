"""The benchmarks still run: each one at a tiny size, as a subprocess, the way docs/PERFORMANCE.md
says to re-run it, printing its JSON.

The figures are not asserted (speed goals live in the benchmarks, not in tests); what is asserted
is that each bench builds its data, runs the product's code and reports what it promises, with
the guarantees a bench checks on the way (nothing lost, no 429, no failed request). A bench
that no test ran once broke unnoticed: bench/dashboard.py's SQL missed a NOT NULL column for
a whole session. bench/peers.py is left out: it installs third-party extractors into venvs of
their own.

Each bench gets its own database on the test run's PostgreSQL server (a bench drops and creates
its database), dropped afterwards, and its own var folder.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import psycopg
import pytest
from django.conf import settings

ROOT = Path(__file__).resolve().parents[2]

pytestmark = [
    pytest.mark.integration,
    pytest.mark.skipif(
        not settings.REDIS_URL or settings.DATABASES["default"]["ENGINE"].endswith("sqlite3"),
        reason="the benchmarks measure on PostgreSQL + Redis (CI's second pass)",
    ),
]


def _server_url() -> str:
    db = settings.DATABASES["default"]
    user = db.get("USER") or "postgres"
    password = f":{db['PASSWORD']}" if db.get("PASSWORD") else ""
    return f"postgres://{user}{password}@{db.get('HOST') or '127.0.0.1'}:{db.get('PORT') or 5432}"


@pytest.fixture
def run_bench(tmp_path):
    """run_bench(script, *args) → the JSON it printed; its database is dropped afterwards."""
    created: list[str] = []

    def run(script: str, *args: str) -> dict:
        name = f"migrator_test_bench_{Path(script).stem}"
        created.append(name)
        url = f"{_server_url()}/{name}"
        env = {
            **os.environ,
            "BENCH_DATABASE_URL": url,
            "BENCH_DASH_DATABASE_URL": url,
            "MIGRATOR_VAR_DIR": str(tmp_path / "var"),
            "REDIS_URL": settings.REDIS_URL,
        }
        env.pop("DJANGO_SETTINGS_MODULE", None)  # a bench sets up production-like settings
        done = subprocess.run(
            [sys.executable, str(ROOT / "bench" / script), *args],
            cwd=ROOT,
            env=env,
            capture_output=True,
            text=True,
            timeout=300,
            check=False,
        )
        assert done.returncode == 0, f"{script} failed:\n{done.stderr[-3000:]}"
        return json.loads(done.stdout.strip().splitlines()[-1])

    yield run
    with psycopg.connect(f"{_server_url()}/postgres", autocommit=True) as conn:
        for name in created:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def test_dashboard_bench_serves_every_page_and_both_loads(run_bench):
    report = run_bench(
        "dashboard.py",
        *("--maps", "3000", "--failures", "200", "--batches", "20"),
        *("--report-items", "300", "--redirects", "300", "--clients", "2", "--requests", "4"),
        *("--viewers", "2", "--watch-seconds", "2", "--interval", "0.5"),
    )
    assert report["record_maps"] == 3000 and not report["reused_database"]
    pages = report["pages"]
    assert {"run_page_live", "progress_partial_live", "reconciliation_report"} <= set(pages)
    for name, page in pages.items():
        assert page["errors"] == 0, name
        assert 0 < page["p50_ms"] <= page["p95_ms"] <= page["p99_ms"], name
    for name, runs in report["watched"].items():
        assert [entry["viewers"] for entry in runs] == [2], name
        assert all(entry["errors"] == 0 and entry["requests"] > 0 for entry in runs), name
    assert set(report["targets"]["watched"]["2"]) >= {"run_page_ok", "progress_partial_ok"}


def test_delta_bench_updates_exactly_the_changed_products(run_bench):
    report = run_bench("delta.py", "--products", "200")
    assert report["changed"] == report["updated"] == 2
    assert report["requests"] >= report["min_requests"] > 0
    assert report["delta_seconds"] < report["full_seconds"]


def test_memory_and_overhead_benches_run_the_engine(run_bench):
    memory = run_bench("memory.py", "--records", "2000")
    assert memory["records"] == 2000 and memory["peak_rss_mb"] > 0
    assert set(memory["rss_mb"]) == {"start", "10%", "50%", "100%"}
    overhead = run_bench("overhead.py", "--records", "1000")
    assert overhead["records_per_s"] > 0 and overhead["copy_rows_per_s"] > 0


def test_quota_benches_lose_nothing_and_never_hit_a_429(run_bench):
    quota = run_bench("quota.py", "--products", "200")
    assert quota["status"] == "succeeded"
    assert quota["lost"] == quota["duplicates"] == quota["duplicate_skus"] == 0
    assert quota["target_requests"] >= 200 and quota["rate_limited_fraction"] == 0.0
    limiter = run_bench("quota_limiter.py", "--workers", "2", "--quota", "20", "--window-ms", "500")
    assert limiter["backend"] == "redis" and limiter["requests"] > 0
    assert limiter["rate_limited"] == 0
