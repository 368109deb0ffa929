"""How close the shared rate limiter gets to a target's quota: 4 worker processes migrate a
catalog into a BigCommerce sandbox (under gunicorn) whose quota is the bottleneck, on
PostgreSQL + Redis.

    .venv/bin/python bench/quota.py [--products 20000] [--quota 60] [--window-ms 2000]

Prints one JSON object: efficiency = useful records/s ÷ (quota per second x records per
request, 1 for product creates): 1.0 is the physical limit; rate_limited_fraction = 429s ÷
target requests (from the server's access log); lost and duplicates (both should be 0).
"""

from __future__ import annotations

import argparse
import json
import os
import re
import tempfile
from collections import Counter
from pathlib import Path

from support import ROOT, machine, setup_django

WORKERS = 4


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--products", type=int, default=20_000)
    parser.add_argument("--quota", type=int, default=60, help="requests per window")
    parser.add_argument("--window-ms", type=int, default=2000)
    args = parser.parse_args()
    os.environ.setdefault("REDIS_URL", "redis://127.0.0.1:6379/11")
    setup_django()
    os.chdir(ROOT)

    from django.db.models import Count

    from apps.runs.choices import RunKind
    from apps.runs.models import Run
    from apps.runs.services import start_run
    from tests.support.live import (
        gunicorn_server,
        process_env,
        purge_broker,
        start_worker,
        wait_for_run_end,
    )
    from tests.support.rehearsal import make_rehearsal

    quiet = {"DJANGO_DEBUG": "false", "MIGRATOR_LOG_LEVEL": "WARNING"}
    logs = Path(tempfile.mkdtemp(prefix="bench-quota-"))
    with gunicorn_server(logs / "web.log", workers=3, threads=8, extra_env=quiet) as url:
        rehearsal = make_rehearsal(None, products=args.products, base=url)
        target = rehearsal.target
        target.quota_requests, target.quota_window_ms = args.quota, args.window_ms
        target.save()
        purge_broker()
        env = process_env(**quiet)
        workers = [
            start_worker(logs / "workers.log", name=f"bench{i}", concurrency=1, env=env)
            for i in range(WORKERS)
        ]
        try:
            run = start_run(rehearsal.project, kind=RunKind.FULL)
            run = wait_for_run_end(run.pk, timeout=24 * 3600, log_path=logs / "workers.log")
        finally:
            for worker in workers:
                worker.terminate()
                worker.wait()
    run = Run.objects.get(pk=run.pk)
    created = run.outcomes.filter(action="created").count()
    # Writing time: from the first batch's start to the last batch's end (planning excluded).
    first = run.batches.order_by("started_at").values_list("started_at", flat=True).first()
    seconds = (run.finished_at - first).total_seconds()
    path = f"/sandbox/{target.slug}/"
    statuses = Counter(
        status
        for line_path, status in re.findall(
            r'"[A-Z]+ (\S+) HTTP/1\.[01]" (\d{3}) ', (logs / "web.log").read_text()
        )
        if line_path.startswith(path)
    )
    requests = sum(statuses.values())
    products = rehearsal.target.records.filter(resource="product")
    distinct = products.values("sku").distinct().count()
    quota_per_s = args.quota / (args.window_ms / 1000)
    print(
        json.dumps(
            {
                "benchmark": "quota",
                "workers": WORKERS,
                "products": args.products,
                "quota": f"{args.quota} per {args.window_ms} ms",
                "status": run.status,
                "seconds": round(seconds, 1),
                "records_per_s": round(created / seconds, 2),
                "efficiency": round(created / seconds / quota_per_s, 3),
                "target_requests": requests,
                "rate_limited_fraction": round(statuses["429"] / max(1, requests), 4),
                "lost": args.products - distinct,
                "duplicates": products.count() - distinct,
                "duplicate_skus": products.values("sku")
                .annotate(n=Count("id"))
                .filter(n__gt=1)
                .count(),
                "machine": machine(),
            }
        )
    )


if __name__ == "__main__":
    main()
