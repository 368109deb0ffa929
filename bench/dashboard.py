"""Dashboard latency on a big project: the run page and the progress partial (and the other
list pages) under concurrent clients, served by gunicorn from PostgreSQL.

    .venv/bin/python bench/dashboard.py [--maps 1000000] [--failures 50000] [--clients 8]
                                        [--requests 200] [--workers 4] [--viewers 10,30]

Builds its own database (BENCH_DASH_DATABASE_URL, default
postgres://postgres@127.0.0.1:5432/migrator_bench_dash) with SQL (INSERT … SELECT
generate_series): a project with `--maps` RecordMap rows (small canonical JSON, about 100 bytes
a side, not the ~1 KB a real run writes: these pages never read it), a finished run of ~1,000
batches with one outcome per record of which `--failures` failed (eight reason shapes with
numbers and quoted values: error groups), a live run (half its batches done) whose progress
partial answers 200 rather than 286, a finished reconciliation report with items and a redirect
map. Then gunicorn serves the app and two loads run, one page at a time:

- closed loop (`pages`): `--clients` threads (httpx, logged in by a session cookie) send
  `--requests` requests per page, each thread its next as soon as the last answered: the
  server's saturation point and its requests/s;
- open loop (`watched`): for each count in `--viewers`, that many viewers each request one page
  every `--interval` seconds (as htmx polls the partial; reloading the whole run page that
  often is the harsher case) for `--watch-seconds`, whatever the answers' speed: the latency
  people watching a cutover see. Pages: the live run page, then the live progress partial.

Prints one JSON object: p50/p95/p99 in ms per page and load, the aims, the machine.
"""

from __future__ import annotations

import argparse
import base64
import json
import os
import statistics
import subprocess
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
from support import ROOT, machine, setup_django

from apps.runs.reasons import normalise_reason  # plain Python: no Django set-up needed

DEFAULT_URL = "postgres://postgres@127.0.0.1:5432/migrator_bench_dash"
ENTITIES = (("products", 0.6), ("customers", 0.25), ("orders", 0.15))
REASONS = [
    "price is negative: '-%s.00'",
    'HTTP 422 from target: {"title": "The field \'sku\' is invalid", "status": 422} #%s',
    "email 'user%s@example' is not a valid address",
    "parent category %s is not mapped",
    "HTTP 409 from target: a product with this name already exists (id %s)",
    "variant option 'Size' has %s values, the target allows 250",
    "customer %s has no address",
    "order %s refers to a product that failed",
]

# Each shape's error group, as the engine stores it beside the reason (RecordOutcome.reason_key).
REASON_KEYS = [normalise_reason(reason % 1) for reason in REASONS]


# The pages people keep open during a cutover: what the open-loop runs (watch()) request.
WATCHED = ("run_page_live", "progress_partial_live")


def build(args: argparse.Namespace) -> dict:
    """The project, its runs and the big tables; returns the ids and URLs the load needs."""
    from django.contrib.auth import get_user_model
    from django.db import connection
    from django.test import Client
    from django.utils import timezone

    from apps.core.roles import Role
    from apps.projects.models import Membership
    from apps.projects.services import create_project
    from apps.reconciliation.models import EntityReconciliation, ReconciliationReport
    from apps.runs.choices import RunKind, RunStatus
    from apps.runs.models import Run
    from apps.stores.models import Platform
    from apps.stores.services import create_store

    user = get_user_model().objects.create_user(username="bench-dash", password="x")  # noqa: S106 - never used: a session logs in
    source = create_store(
        user=user,
        name="bench source",
        platform=Platform.WOOCOMMERCE,
        base_url="https://source.example.com",
        credentials={"consumer_key": "ck_bench", "consumer_secret": "cs_bench"},
    )
    target = create_store(
        user=user,
        name="bench target",
        platform=Platform.BIGCOMMERCE,
        base_url="https://target.example.com",
        credentials={"store_hash": "bench", "access_token": "bench-token"},
    )
    project = create_project(user=user, name="bench", source_store=source, target_store=target)
    assert Membership.objects.filter(project=project, user=user, role=Role.ADMIN).exists()

    maps, failures, batches = args.maps, args.failures, args.batches
    per_batch = max(1, maps // batches)
    now = timezone.now()
    totals = {e: int(maps * share) for e, share in ENTITIES}
    totals["products"] += maps - sum(totals.values())
    plan = {
        "order": [e for e, _ in ENTITIES],
        "stages": [[e] for e, _ in ENTITIES],
        "entities": {
            e: {"total": n, "batches": -(-n // per_batch), "points": n} for e, n in totals.items()
        },
        "points": maps,
    }
    finished = Run.objects.create(
        project=project,
        kind=RunKind.FULL,
        status=RunStatus.PARTIALLY_FAILED,
        plan=plan,
        points_estimate=maps,
        created_by=user,
        started_at=now - timedelta_s(3 * 3600),
        finished_at=now - timedelta_s(3600),
    )
    live = Run.objects.create(
        project=project,
        kind=RunKind.FULL,
        status=RunStatus.RUNNING,
        plan=plan,
        points_estimate=maps,
        created_by=user,
        started_at=now - timedelta_s(1800),
    )
    # Entity of record n (1-based): products first, then customers, then orders.
    p_end, c_end = totals["products"], totals["products"] + totals["customers"]
    entity_sql = (
        f"CASE WHEN n <= {p_end} THEN 'products' WHEN n <= {c_end} THEN 'customers' "
        "ELSE 'orders' END"
    )
    timings = {}
    with connection.cursor() as cur:
        started = time.perf_counter()
        cur.execute(
            f"""
            INSERT INTO runs_recordmap (project_id, entity, source_id, target_id, natural_key,
                status, source_hash, canonical, target_hash, target_canonical, last_run_id,
                synced_at)
            SELECT %s, {entity_sql}, n::text, (n + 500000)::text, 'SKU-' || lpad(n::text, 8, '0'),
                'synced', md5(n::text), jsonb_build_object('sku', 'SKU-' || n, 'name',
                'Item ' || n, 'price', ((n %% 9000) / 100.0 + 1)::text, 'stock', n %% 50),
                md5((n + 1)::text), jsonb_build_object('sku', 'SKU-' || n, 'name', 'Item ' || n,
                'price', ((n %% 9000) / 100.0 + 1)::text, 'stock', n %% 50), %s, %s
            FROM generate_series(1, %s) AS n
            """,  # noqa: S608 - only ints are interpolated
            [project.pk, finished.pk, now, maps],
        )
        timings["recordmap_s"] = round(time.perf_counter() - started, 1)

        # Batches: record n is in batch (n - 1) // per_batch; a batch's seq is per entity.
        started = time.perf_counter()
        for run, done_fraction in ((finished, 1.0), (live, 0.5)):
            done_batches = int(batches * done_fraction)
            cur.execute(
                f"""
                INSERT INTO runs_entitybatch (run_id, entity, seq, cursor, status, attempts,
                    queued_at, lease_owner, lease_expires_at, read, created, updated, unchanged,
                    skipped, failed, merged, conflicts, deleted, requests, error, started_at,
                    finished_at)
                SELECT %s, e, row_number() OVER (PARTITION BY e ORDER BY b) - 1,
                    jsonb_build_object('page', b + 1),
                    CASE WHEN b < %s THEN 'done' WHEN b < %s + 4 THEN 'running' ELSE 'pending'
                    END,
                    CASE WHEN b < %s THEN 1 ELSE 0 END, %s,
                    CASE WHEN b >= %s AND b < %s + 4 THEN 'bench@worker' ELSE '' END,
                    CASE WHEN b >= %s AND b < %s + 4 THEN %s::timestamptz END,
                    CASE WHEN b < %s THEN %s ELSE 0 END,
                    CASE WHEN b < %s THEN %s - %s ELSE 0 END, 0, 0, 0,
                    CASE WHEN b < %s THEN %s ELSE 0 END, 0, 0, 0,
                    CASE WHEN b < %s THEN %s / 10 + 1 ELSE 0 END, '',
                    CASE WHEN b < %s THEN %s::timestamptz + b * %s * interval '1 second' END,
                    CASE WHEN b < %s THEN %s::timestamptz + (b + 1) * %s * interval '1 second'
                    END
                FROM (SELECT b, (SELECT {entity_sql.replace("n <=", "b * %s + 1 <=")}) AS e
                      FROM generate_series(0, %s - 1) AS b) AS s
                """,  # noqa: S608 - only ints are interpolated
                [
                    run.pk,
                    done_batches,
                    done_batches,
                    done_batches,
                    now,
                    done_batches,
                    done_batches,
                    done_batches,
                    done_batches,
                    now + timedelta_s(60),
                    done_batches,
                    per_batch,
                    done_batches,
                    per_batch,
                    failures // batches,
                    done_batches,
                    failures // batches,
                    done_batches,
                    per_batch,
                    done_batches,
                    run.started_at,
                    1.5,
                    done_batches,
                    run.started_at,
                    1.5,
                    per_batch,
                    per_batch,
                    batches,
                ],
            )
        timings["batches_s"] = round(time.perf_counter() - started, 1)

        # Outcomes: one per record of the finished run, every (maps // failures)-th failed; the
        # live run has the outcomes of its done half, with the same share of failures.
        started = time.perf_counter()
        step = max(1, maps // max(1, failures))
        reasons = "ARRAY[" + ", ".join(["%s"] * len(REASONS)) + "]"
        for run, upto, failed_cap in (
            (finished, maps if args.ok_outcomes else None, failures),
            (live, maps // 2 if args.ok_outcomes else None, failures // 2),
        ):
            where = "" if upto else f"WHERE n %% {step} = 0"
            limit = upto or maps // (1 if run is finished else 2)
            cur.execute(
                f"""
                INSERT INTO runs_recordoutcome (run_id, batch_id, entity, source_id, natural_key,
                    action, target_id, reason, reason_key, payload_digest, created_at)
                SELECT %s, NULL, {entity_sql}, n::text, 'SKU-' || lpad(n::text, 8, '0'),
                    CASE WHEN f.failed THEN 'failed' ELSE 'created' END,
                    CASE WHEN f.failed THEN '' ELSE (n + 500000)::text END,
                    CASE WHEN f.failed THEN format(({reasons})[f.shape], n) ELSE '' END,
                    CASE WHEN f.failed THEN ({reasons})[f.shape] ELSE '' END,
                    '', %s
                FROM generate_series(1, %s) AS n
                CROSS JOIN LATERAL (
                    SELECT n %% {step} = 0 AND n / {step} <= %s AS failed,
                        (n / {step}) %% {len(REASONS)} + 1 AS shape
                ) AS f
                {where}
                """,  # noqa: S608 - only ints are interpolated
                [run.pk, *REASONS, *REASON_KEYS, now, limit, failed_cap],
            )
        timings["outcomes_s"] = round(time.perf_counter() - started, 1)

        # A finished reconciliation report with items, and a redirect map.
        started = time.perf_counter()
        report = ReconciliationReport.objects.create(
            run=finished, project=project, started_at=now, finished_at=now
        )
        for position, (entity, n) in enumerate(totals.items()):
            EntityReconciliation.objects.create(
                report=report,
                entity=entity,
                position=position,
                source_count=n,
                target_count=n,
                mapped=n,
                matched=n - n // 20,
                mismatched=n // 20,
                equation_holds=True,
            )
        cur.execute(
            f"""
            INSERT INTO reconciliation_reconciliationitem (report_id, kind, entity, source_id,
                target_id, natural_key, diffs, source_hash, target_hash, reason, passed)
            SELECT %s, CASE WHEN n %% 10 = 0 THEN 'spot_check' ELSE 'mismatch' END,
                {entity_sql}, n::text, (n + 500000)::text, 'SKU-' || n,
                jsonb_build_array(jsonb_build_object('field', 'price', 'source', '10.00',
                    'target', '12.00')), md5(n::text), md5((n + 1)::text), '',
                CASE WHEN n %% 10 = 0 THEN true END
            FROM generate_series(1, %s) AS n
            """,  # noqa: S608 - only ints are interpolated
            [report.pk, args.report_items],
        )
        cur.execute(
            """
            INSERT INTO redirects_redirect (project_id, old_path, new_url, entity, source_id,
                target_id, origin, state, push_error, target_redirect_id, pushed_at, hops,
                final_status, problem, problem_detail, checked_at, created_at, updated_at)
            SELECT %s, '/product/item-' || n || '/', '/item-' || n || '/', 'products', n::text,
                (n + 500000)::text, 'source', 'pushed', '', n::text, %s, '[]'::jsonb, 301,
                CASE WHEN n %% 50 = 0 THEN 'chain' ELSE 'ok' END, '', %s, %s, %s
            FROM generate_series(1, %s) AS n
            """,
            [project.pk, now, now, now, now, args.redirects],
        )
        timings["report_and_redirects_s"] = round(time.perf_counter() - started, 1)
        started = time.perf_counter()
        cur.execute("VACUUM ANALYZE")
        timings["analyze_s"] = round(time.perf_counter() - started, 1)

        # Deep keyset positions: the failure 80 % of the way down (newest first), the batch
        # 90 % of the way through, the redirect 90 % through, the report item 90 % through.
        cur.execute(
            "SELECT id FROM runs_recordoutcome WHERE run_id = %s AND action = 'failed' "
            "ORDER BY id DESC OFFSET %s LIMIT 1",
            [finished.pk, int(failures * 0.8)],
        )
        deep_failure = cur.fetchone()[0]
        cur.execute(
            "SELECT id FROM runs_entitybatch WHERE run_id = %s ORDER BY id OFFSET %s LIMIT 1",
            [finished.pk, int(batches * 0.9)],
        )
        deep_batch = cur.fetchone()[0]
        cur.execute(
            "SELECT id FROM reconciliation_reconciliationitem WHERE report_id = %s "
            "ORDER BY id OFFSET %s LIMIT 1",
            [report.pk, int(args.report_items * 0.9)],
        )
        deep_item = cur.fetchone()[0]
        cur.execute(
            "SELECT id FROM redirects_redirect WHERE project_id = %s ORDER BY id DESC "
            "OFFSET %s LIMIT 1",
            [project.pk, int(args.redirects * 0.9)],
        )
        deep_redirect = cur.fetchone()[0]

    client = Client()
    client.force_login(user)
    session = client.cookies["sessionid"].value

    def cursor(position: int) -> str:
        return base64.b64encode(f"p={position}".encode()).decode()

    f, lv, p = finished.pk, live.pk, project.pk
    pages = {
        "run_page": f"/runs/{f}/",
        "run_page_live": f"/runs/{lv}/",
        "progress_partial": f"/runs/{f}/progress/",
        "progress_partial_live": f"/runs/{lv}/progress/",
        "run_page_failures_deep": f"/runs/{f}/?before={deep_failure}",
        "run_page_failures_error_filter": f"/runs/{f}/?entity=products&error="
        + "price+is+negative%3A+%27%E2%80%A6%27",
        "api_failures_deep": f"/api/v1/runs/{f}/failures/?cursor={cursor(deep_failure)}",
        "api_run_detail": f"/api/v1/runs/{f}/",
        "batches_page_deep": f"/runs/{f}/batches/?after={deep_batch}",
        "project_page": f"/projects/{p}/",
        "projects_list": "/projects/",
        "reconciliation_report": f"/reconciliation/reports/{report.pk}/",
        "api_reconciliation_items_deep": (
            f"/api/v1/reconciliation/reports/{report.pk}/items/?cursor={cursor(deep_item)}"
        ),
        "redirects_dashboard": f"/redirects/projects/{p}/",
        # Keyset: past the problems and ~90 % of the OK rows ("/product/item-9…" sort last).
        "redirects_dashboard_deep": f"/redirects/projects/{p}/?after=8:/product/item-9/",
        "api_redirects_deep": f"/api/v1/projects/{p}/redirects/?cursor={cursor(deep_redirect)}",
    }
    return {"session": session, "pages": pages, "timings": timings}


def timedelta_s(seconds: float):
    from datetime import timedelta

    return timedelta(seconds=seconds)


def serve(args: argparse.Namespace, log_path: Path):
    """gunicorn on a free port, as tests/support/live.py starts it; returns (process, url)."""
    import socket

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    url = f"http://127.0.0.1:{port}"
    env = {**os.environ, "MIGRATOR_PUBLIC_URL": url, "DJANGO_DEBUG": "false"}
    log = open(log_path, "ab")  # noqa: SIM115 - gunicorn owns it for its lifetime
    server = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "gunicorn",
            "migrator.wsgi",
            "--bind",
            f"127.0.0.1:{port}",
            "--workers",
            str(args.workers),
            "--threads",
            str(args.threads),
            "--timeout",
            "120",
        ],
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
        cwd=ROOT,
    )
    deadline = time.monotonic() + 60
    while True:
        try:
            httpx.get(f"{url}/healthz", timeout=2)
            return server, url
        except httpx.TransportError:
            if time.monotonic() > deadline or server.poll() is not None:
                server.kill()
                raise SystemExit(f"gunicorn did not start: see {log_path}") from None
            time.sleep(0.2)


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, round(q / 100 * len(ordered) + 0.5) - 1))
    return ordered[index]


def load(url: str, path: str, session: str, clients: int, requests: int) -> dict:
    """Closed-loop load: `requests` GETs of one page from `clients` threads, each sending its
    next request as soon as the last one answered (the server's saturation); ms."""
    local = threading.local()
    expected = (200, 286)

    def one(_: int) -> tuple[float, int]:
        if not hasattr(local, "client"):
            local.client = httpx.Client(
                base_url=url,
                cookies={"sessionid": session},
                timeout=60,
                headers={"HX-Request": "true"} if "progress" in path else {},
            )
        started = time.perf_counter()
        response = local.client.get(path)
        return (time.perf_counter() - started) * 1000, response.status_code

    with ThreadPoolExecutor(clients) as pool:
        list(pool.map(one, range(clients * 2)))  # warm-up: connections, worker caches
        started = time.perf_counter()
        results = list(pool.map(one, range(requests)))
        wall = time.perf_counter() - started
    latencies = [ms for ms, _ in results]
    statuses = sorted({status for _, status in results})
    return {
        "p50_ms": round(statistics.median(latencies), 1),
        "p95_ms": round(percentile(latencies, 95), 1),
        "p99_ms": round(percentile(latencies, 99), 1),
        "requests_per_s": round(len(results) / wall, 1),
        "status": statuses,
        "errors": sum(1 for _, status in results if status not in expected),
    }


def watch(url: str, path: str, session: str, viewers: int, interval: float, seconds: float) -> dict:
    """Open-loop load, as people watching a run make it: `viewers` browsers each GET the page
    every `interval` seconds (htmx's `every 2s`), from a random phase, for `seconds`.

    Unlike load(), a slow answer does not slow the arrivals, so this is the latency a viewer
    sees when that many people watch at once, not the server's saturation point."""
    import random

    expected = (200, 286)
    results: list[tuple[float, int]] = []
    lock = threading.Lock()
    deadline = time.monotonic() + seconds

    def viewer(phase: float) -> None:
        client = httpx.Client(
            base_url=url,
            cookies={"sessionid": session},
            timeout=60,
            headers={"HX-Request": "true"} if "progress" in path else {},
        )
        client.get(path)  # warm-up: connection, worker caches
        tick = time.monotonic() + phase
        while tick < deadline:
            time.sleep(max(0.0, tick - time.monotonic()))
            started = time.perf_counter()
            status = client.get(path).status_code
            with lock:
                results.append(((time.perf_counter() - started) * 1000, status))
            tick += interval
        client.close()

    rng = random.Random(1)
    threads = [
        threading.Thread(target=viewer, args=(rng.uniform(0, interval),), daemon=True)
        for _ in range(viewers)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    latencies = [ms for ms, _ in results]
    return {
        "viewers": viewers,
        "interval_s": interval,
        "requests": len(results),
        "p50_ms": round(statistics.median(latencies), 1),
        "p95_ms": round(percentile(latencies, 95), 1),
        "p99_ms": round(percentile(latencies, 99), 1),
        "errors": sum(1 for _, status in results if status not in expected),
    }


RUN_PAGE_AIM_MS, PARTIAL_AIM_MS = 150, 30


def targets(results: dict[str, dict], watched: dict[str, list[dict]]) -> dict:
    """The issue's aims (run page p95 ≤ 150 ms, progress partial p95 ≤ 30 ms), checked
    against the closed-loop load and against each open-loop viewer count."""
    closed_partial = max(
        results.get("progress_partial", {}).get("p95_ms", 1e9),
        results.get("progress_partial_live", {}).get("p95_ms", 0),
    )
    by_viewers: dict[str, dict] = {}
    for name, runs in watched.items():
        for entry in runs:
            row = by_viewers.setdefault(str(entry["viewers"]), {})
            row[f"{name}_p95_ms"] = entry["p95_ms"]
    for row in by_viewers.values():
        row["run_page_ok"] = row.get("run_page_live_p95_ms", 1e9) <= RUN_PAGE_AIM_MS
        row["progress_partial_ok"] = row.get("progress_partial_live_p95_ms", 1e9) <= PARTIAL_AIM_MS
    return {
        "run_page_p95_ms": RUN_PAGE_AIM_MS,
        "progress_partial_p95_ms": PARTIAL_AIM_MS,
        "closed_loop": {
            "run_page_ok": results.get("run_page", {}).get("p95_ms", 1e9) <= RUN_PAGE_AIM_MS,
            "progress_partial_ok": closed_partial <= PARTIAL_AIM_MS,
        },
        "watched": by_viewers,
    }


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--maps", type=int, default=1_000_000)
    parser.add_argument("--failures", type=int, default=50_000)
    parser.add_argument("--batches", type=int, default=1_000)
    parser.add_argument("--report-items", type=int, default=50_000)
    parser.add_argument("--redirects", type=int, default=100_000)
    parser.add_argument(
        "--ok-outcomes",
        action=argparse.BooleanOptionalAction,
        default=True,
        help="an outcome row for every record, not only the failures (as a real run writes)",
    )
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--requests", type=int, default=200, help="per page")
    parser.add_argument("--workers", type=int, default=4, help="gunicorn workers")
    parser.add_argument("--threads", type=int, default=2, help="threads per gunicorn worker")
    parser.add_argument("--pages", default="", help="comma-separated page names (default: all)")
    parser.add_argument(
        "--viewers",
        default="10,30",
        help="open-loop runs of the run page and partials: comma-separated viewer counts, "
        "each polling every --interval seconds ('' to skip)",
    )
    parser.add_argument("--interval", type=float, default=2.0)
    parser.add_argument("--watch-seconds", type=float, default=30.0)
    parser.add_argument(
        "--reuse",
        action="store_true",
        help="load the database the last run built (same sizes) instead of building it again",
    )
    args = parser.parse_args()
    database_url = os.environ.get("BENCH_DASH_DATABASE_URL", DEFAULT_URL)
    started = time.perf_counter()
    sizes = [args.maps, args.failures, args.batches, args.report_items, args.redirects]
    var_dir = Path(os.environ.get("MIGRATOR_VAR_DIR", ROOT / "var" / "bench"))
    saved = var_dir / "dashboard-build.json"
    built = json.loads(saved.read_text()) if args.reuse and saved.exists() else None
    if built and (built.get("database_url"), built.get("sizes")) != (database_url, sizes):
        built = None
    reused = built is not None
    setup_django(database_url, fresh=not reused)
    if built is None:
        from django.db import connection

        connection.ensure_connection()
        connection.connection.autocommit = True  # VACUUM ANALYZE after the bulk inserts
        built = build(args)
        built.update(database_url=database_url, sizes=sizes)
        saved.parent.mkdir(parents=True, exist_ok=True)
        saved.write_text(json.dumps(built))
        connection.close()
    build_seconds = time.perf_counter() - started

    log_path = Path(os.environ["MIGRATOR_VAR_DIR"]) / "bench-dashboard-gunicorn.log"
    log_path.parent.mkdir(parents=True, exist_ok=True)
    server, url = serve(args, log_path)
    wanted = {name for name in args.pages.split(",") if name}
    load_before = os.getloadavg()
    results: dict[str, dict] = {}
    watched: dict[str, list[dict]] = {}
    try:
        for name, path in built["pages"].items():
            if wanted and name not in wanted:
                continue
            results[name] = load(url, path, built["session"], args.clients, args.requests)
        for count in [int(n) for n in args.viewers.split(",") if n.strip()]:
            for name in WATCHED:
                if wanted and name not in wanted:
                    continue
                watched.setdefault(name, []).append(
                    watch(
                        url,
                        built["pages"][name],
                        built["session"],
                        count,
                        args.interval,
                        args.watch_seconds,
                    )
                )
    finally:
        server.terminate()
        try:
            server.wait(timeout=20)
        except subprocess.TimeoutExpired:
            server.kill()
    print(
        json.dumps(
            {
                "benchmark": "dashboard",
                "record_maps": args.maps,
                "failures": args.failures,
                "batches": args.batches,
                "ok_outcomes": args.ok_outcomes,
                "report_items": args.report_items,
                "redirects": args.redirects,
                "clients": args.clients,
                "requests_per_page": args.requests,
                "gunicorn": {"workers": args.workers, "threads": args.threads},
                "build_seconds": round(build_seconds, 1),
                "reused_database": reused,
                "build": built["timings"],
                "pages": results,
                "watched": watched,
                "targets": targets(results, watched),
                # 1-minute load average before and after the load (other work on the machine).
                "load_average": [round(load_before[0], 1), round(os.getloadavg()[0], 1)],
                "machine": machine(),
            }
        )
    )


if __name__ == "__main__":
    main()
