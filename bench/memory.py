"""Peak worker memory over a long run: one process plays the worker, processing every batch of
a full run from an in-memory source into an in-memory target on PostgreSQL, and samples its
resident set size as it goes.

    .venv/bin/python bench/memory.py [--records 1000000]

Prints one JSON object: peak_rss_mb, rss_mb at 10 % / 50 % / 100 % of the run (flat means the
worker holds nothing per record between batches), records_per_s.
"""

from __future__ import annotations

import argparse
import gc
import json
import resource
import time

from support import Autoanalyze, machine, memory_project, rss_mb, setup_django


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--records", type=int, default=1_000_000)
    args = parser.parse_args()
    setup_django()

    from apps.runs.choices import RunKind
    from apps.runs.engine import plan_run, process_batch
    from apps.runs.models import Run
    from apps.runs.services import start_run

    project, target = memory_project(args.records)
    # The in-memory target would grow with the run; keep only what the engine reads back.
    target.store.clear()
    run = start_run(project, kind=RunKind.FULL)
    queue: list[int] = []
    plan_run(run.pk, enqueue=queue.extend)
    total_batches = Run.objects.get(pk=run.pk).plan["entities"]["products"]["batches"]
    analyze = Autoanalyze()
    samples: dict[str, float] = {"start": round(rss_mb(), 1)}
    started = time.perf_counter()
    done = 0
    while queue:
        process_batch(queue.pop(0), enqueue=queue.extend)
        done += 1
        target.store.clear()  # the "remote" store is not the worker's memory
        analyze.after(done / total_batches)
        for label, fraction in (("10%", 0.1), ("50%", 0.5)):
            if done == max(1, int(total_batches * fraction)):
                gc.collect()
                samples[label] = round(rss_mb(), 1)
    seconds = time.perf_counter() - started
    gc.collect()
    samples["100%"] = round(rss_mb(), 1)
    run.refresh_from_db()
    assert run.status == "succeeded", run.error
    print(
        json.dumps(
            {
                "benchmark": "memory",
                "records": args.records,
                "batches": total_batches,
                "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
                "rss_mb": samples,
                "records_per_s": round(args.records / seconds, 1),
                "statistics": analyze.describe(),
                "machine": machine(),
            }
        )
    )


if __name__ == "__main__":
    main()
