"""What a delta costs next to a full run: a WooCommerce sandbox catalog migrated to a
BigCommerce sandbox (both served in-process over real HTTP requests), then 1 % of the products
changed at the source and a delta run in timestamp mode.

    .venv/bin/python bench/delta.py --products 10000 [--changed 0.01]

Prints one JSON object: requests (every HTTP request the delta sent, source and target),
min_requests (changed ÷ the target's write batch, plus the source pages needed to find them),
requests_ratio, the requests by kind, and wall_ratio (delta ÷ full run wall time).
"""

from __future__ import annotations

import argparse
import json
import math
import random
import time
from collections import Counter
from datetime import timedelta

import httpx
from support import Autoanalyze, machine, setup_django


class CountingTransport(httpx.WSGITransport):
    """The sandboxes in-process; counts requests by method and path shape."""

    def __init__(self, app) -> None:
        super().__init__(app=app)
        self.counts: Counter[str] = Counter()

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        path = request.url.path
        where = "source" if "/wp-json/" in path else "target"
        shape = "variations" if "/variations" in path else "records"
        self.counts[f"{where} {request.method} {shape}"] += 1
        return super().handle_request(request)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--products", type=int, default=10_000)
    parser.add_argument("--changed", type=float, default=0.01)
    args = parser.parse_args()
    setup_django()

    from django.core.handlers.wsgi import WSGIHandler
    from django.utils import timezone

    from apps.runs.choices import RunKind
    from apps.runs.engine import run_inline
    from apps.runs.services import start_run
    from apps.sandbox.wsgi import SandboxFaultsApp
    from apps.stores.services import transport_override
    from tests.support.rehearsal import make_rehearsal

    transport = CountingTransport(SandboxFaultsApp(WSGIHandler(), in_process=True))
    analyze = Autoanalyze()
    with transport_override(transport), analyze.every(60):
        rehearsal = make_rehearsal(transport, products=args.products)
        # A delta runs hours after the full run, not seconds: the catalog was last changed
        # before the full run's window closed, so only the records changed since are read.
        rehearsal.source.records.update(date_modified=timezone.now() - timedelta(hours=2))
        started = time.perf_counter()
        full = run_inline(start_run(rehearsal.project, kind=RunKind.FULL).pk)
        full_seconds = time.perf_counter() - started
        assert full.status == "succeeded", full.error

        ids = list(
            rehearsal.source.records.filter(resource="product").values_list("object_id", flat=True)
        )
        changed = random.Random(7).sample(ids, max(1, int(len(ids) * args.changed)))
        with rehearsal.woo() as woo:
            for product_id in changed:
                # The name: a variable product's own price does not persist in WooCommerce.
                woo.put(f"products/{product_id}", json={"name": f"Product {product_id} (sale)"})
        variable = rehearsal.source.records.filter(
            resource="product", object_id__in=changed, data__type="variable"
        ).count()

        transport.counts.clear()
        started = time.perf_counter()
        delta = run_inline(start_run(rehearsal.project, kind=RunKind.DELTA).pk)
        delta_seconds = time.perf_counter() - started
        assert delta.status == "succeeded", delta.error

    updated = delta.outcomes.filter(action="updated").count()
    requests = sum(transport.counts.values())
    write_batch = 10  # BigCommerce: products are updated 10 to a PUT
    min_requests = math.ceil(len(changed) / write_batch) + math.ceil(len(changed) / 100)
    # WooCommerce lists a variable product's variations only at their own endpoint: reading a
    # changed variable product costs one more request, whatever the engine does.
    min_with_variations = min_requests + variable
    print(
        json.dumps(
            {
                "benchmark": "delta",
                "products": args.products,
                "changed": len(changed),
                "updated": updated,
                "requests": requests,
                "min_requests": min_requests,
                "requests_ratio": round(requests / min_requests, 2),
                "min_requests_with_variations": min_with_variations,
                "requests_ratio_with_variations": round(requests / min_with_variations, 2),
                "requests_by_kind": dict(sorted(transport.counts.items())),
                "full_seconds": round(full_seconds, 1),
                "delta_seconds": round(delta_seconds, 2),
                "wall_ratio": round(delta_seconds / full_seconds, 4),
                "statistics": analyze.describe(),
                "machine": machine(),
            }
        )
    )


if __name__ == "__main__":
    main()
