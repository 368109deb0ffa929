"""Shared pieces of the benchmarks: Django set-up on a benchmark database, an in-memory
connector (an unlimited in-process source or target), machine facts."""

from __future__ import annotations

import os
import platform
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def setup_django(database_url: str | None = None, *, fresh: bool = True) -> None:
    """Point Django at a benchmark database (PostgreSQL by default) and migrate it afresh."""
    url = database_url or os.environ.get(
        "BENCH_DATABASE_URL", "postgres://postgres@127.0.0.1:5432/migrator_bench"
    )
    os.environ["DATABASE_URL"] = url
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "migrator.settings")
    os.environ.setdefault("MIGRATOR_VAR_DIR", str(ROOT / "var" / "bench"))
    os.environ["MIGRATOR_LOG_LEVEL"] = "WARNING"
    os.environ["DJANGO_DEBUG"] = "false"  # as workers run in production: no query log
    if fresh and url.startswith("postgres"):
        import psycopg

        base, name = url.rsplit("/", 1)
        with psycopg.connect(f"{base}/postgres", autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
            conn.execute(f'CREATE DATABASE "{name}"')
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)


class Autoanalyze:
    """ANALYZE the tables a run grows after every 10 % more rows, as autovacuum would, when the
    server runs with autovacuum off (this project's CI machine does). Without statistics the
    planner keeps the plans it chose for empty tables: measured on bench/memory.py, the rate
    fell from ~1,000 to ~200 records/s by 220,000 rows, and one ANALYZE brought it back."""

    TABLES = ("runs_recordmap", "runs_recordoutcome", "runs_journalentry", "runs_entitybatch")

    def __init__(self) -> None:
        from django.db import connection

        self.enabled = False
        self.count = 0
        if connection.vendor == "postgresql":
            with connection.cursor() as cursor:
                cursor.execute("SHOW autovacuum")
                self.enabled = cursor.fetchone()[0] == "off"

    def after(self, fraction_done: float) -> None:
        """Call as the run goes; analyzes when another tenth of it is done."""
        if not self.enabled or int(fraction_done * 10) <= self.count:
            return
        from django.db import connection

        self.count = int(fraction_done * 10)
        with connection.cursor() as cursor:
            for table in self.TABLES:
                cursor.execute(f"ANALYZE {table}")

    @contextmanager
    def every(self, seconds: float) -> Iterator[None]:
        """ANALYZE every table every `seconds` from a thread of its own (its own connection),
        for a bench whose run goes on in one call: autovacuum's naptime, roughly."""
        if not self.enabled:
            yield
            return
        import psycopg

        stop = threading.Event()
        url = os.environ["DATABASE_URL"]

        def loop() -> None:
            with psycopg.connect(url, autocommit=True) as conn:
                while not stop.wait(seconds):
                    conn.execute("ANALYZE")
                    self.count += 1

        thread = threading.Thread(target=loop, daemon=True)
        thread.start()
        try:
            yield
        finally:
            stop.set()
            thread.join()

    def describe(self) -> str:
        if not self.enabled:
            return "autovacuum on (or not PostgreSQL): left to the server"
        return f"autovacuum off on this server: the bench ran ANALYZE {self.count} times"


def machine() -> dict[str, Any]:
    mem_kb = 0
    with open("/proc/meminfo") as meminfo:
        for line in meminfo:
            if line.startswith("MemTotal:"):
                mem_kb = int(line.split()[1])
    return {
        "cpus": os.cpu_count(),
        "memory_gib": round(mem_kb / 1024 / 1024, 1),
        "python": platform.python_version(),
        "platform": platform.platform(terse=True),
    }


def rss_mb() -> float:
    with open("/proc/self/statm") as statm:
        pages = int(statm.read().split()[1])
    return pages * os.sysconf("SC_PAGE_SIZE") / 1024 / 1024


def memory_connectors(records: int):
    """(source, target) connectors over generated products and an in-memory target."""
    from apps.stores.connectors.base import Connector, Page, WriteResult

    def product(n: int) -> dict[str, Any]:
        return {
            "id": n,
            "sku": f"SKU-{n:08d}",
            "name": f"Product {n}",
            "slug": f"product-{n}",
            "description": "A benchmark product with a short description.",
            "status": "active",
            "price": f"{(n % 9000) / 100 + 1:.2f}",
            "sale_price": None,
            "stock": n % 50,
            "weight": "1.00",
            "categories": [],
            "brand": None,
            "images": [],
            "custom_fields": [],
            "options": [{"name": "Size", "values": ["S", "M"]}],
            "variants": [
                {
                    "sku": f"SKU-{n:08d}-{s}",
                    "price": None,
                    "sale_price": None,
                    "stock": 1,
                    "options": {"Size": s},
                }
                for s in ("S", "M")
            ],
        }

    class MemorySource(Connector):
        platform = "memory"
        max_write_batch = {"products": 100}

        def count(self, entity: str) -> int:
            return records

        def read_page(self, entity, cursor, page_size):
            page = int((cursor or {}).get("page", 1))
            start = (page - 1) * page_size + 1
            ids = range(start, min(records, start + page_size - 1) + 1)
            return Page([product(n) for n in ids], total=records)

        def read_by_ids(self, entity, ids):
            return [product(int(i)) for i in ids]

        def find_by_natural_key(self, entity, key):
            return None

        def create(self, entity, items):
            raise NotImplementedError

        update = delete = create

        def to_canonical(self, entity, raw):
            return {k: v for k, v in raw.items() if k != "id"}

        def from_canonical(self, entity, canonical):
            return canonical

    class MemoryTarget(MemorySource):
        store: dict[str, dict[str, Any]] = {}
        created = 0

        def count(self, entity):
            return len(self.store)

        def find_by_natural_key(self, entity, key):
            # Full runs into an empty target never look up; a linear scan keeps memory flat.
            for target_id, record in self.store.items():
                if record.get("sku") == key:
                    return {"id": target_id, **record}
            return None

        def read_by_ids(self, entity, ids):
            return [{"id": i, **self.store[i]} for i in ids if i in self.store]

        def create(self, entity, items):
            results = []
            for item in items:
                self.created += 1
                target_id = str(self.created)
                self.store[target_id] = item.payload
                results.append(
                    WriteResult(item.ref, True, target_id, {"id": target_id, **item.payload})
                )
            return results

        def update(self, entity, items):
            for item in items:
                self.store[item.target_id] = item.payload
            return [
                WriteResult(i.ref, True, i.target_id, {"id": i.target_id, **i.payload})
                for i in items
            ]

    return MemorySource(), MemoryTarget()


def memory_project(records: int):
    """A project whose runs read and write the in-memory connectors (patched into the engine)."""
    from django.contrib.auth import get_user_model

    from apps.projects.services import create_project
    from apps.runs import engine
    from apps.stores.models import Platform
    from apps.stores.services import create_store

    user = get_user_model().objects.create(username=f"bench-{os.getpid()}")
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
    memory_source, memory_target = memory_connectors(records)
    engine.build_connector = lambda store, **_: (
        memory_source if store.pk == source.pk else memory_target
    )
    return project, memory_target
