"""The engine's own cost: a full run from an in-memory source into an unlimited in-memory
target on PostgreSQL, against PostgreSQL COPY of the same rows in the same run.

    .venv/bin/python bench/overhead.py [--records 50000]

Prints one JSON object: records_per_s (engine), copy_rows_per_s (COPY of the RecordMap rows the
run wrote), vs_copy (their ratio).
"""

from __future__ import annotations

import argparse
import json
import time

from support import Autoanalyze, machine, memory_project, setup_django


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--records", type=int, default=50_000)
    args = parser.parse_args()
    setup_django()

    from django.db import connection

    from apps.runs.choices import RunKind
    from apps.runs.engine import run_inline
    from apps.runs.models import RecordMap
    from apps.runs.services import start_run

    project, target = memory_project(args.records)
    analyze = Autoanalyze()
    started = time.perf_counter()
    with analyze.every(60):
        run = run_inline(start_run(project, kind=RunKind.FULL).pk)
    engine_seconds = time.perf_counter() - started
    assert run.status == "succeeded", run.error
    assert target.created == args.records

    columns = [
        "project_id",
        "entity",
        "source_id",
        "target_id",
        "natural_key",
        "status",
        "source_hash",
        "canonical",
        "target_hash",
        "target_canonical",
        "synced_at",
    ]
    rows = list(RecordMap.objects.filter(project=project).values_list(*columns))
    with connection.cursor() as cursor:
        cursor.execute("CREATE TEMP TABLE copy_target (LIKE runs_recordmap INCLUDING ALL)")
        started = time.perf_counter()
        with cursor.cursor.copy(f"COPY copy_target ({', '.join(columns)}) FROM STDIN") as copy:
            for row in rows:
                copy.write_row([json.dumps(v) if isinstance(v, dict) else v for v in row])
        copy_seconds = time.perf_counter() - started

    records_per_s = args.records / engine_seconds
    copy_rows_per_s = len(rows) / copy_seconds
    print(
        json.dumps(
            {
                "benchmark": "overhead",
                "records": args.records,
                "engine_seconds": round(engine_seconds, 2),
                "records_per_s": round(records_per_s, 1),
                "copy_rows_per_s": round(copy_rows_per_s, 1),
                "vs_copy": round(records_per_s / copy_rows_per_s, 4),
                "statistics": analyze.describe(),
                "machine": machine(),
            }
        )
    )


if __name__ == "__main__":
    main()
