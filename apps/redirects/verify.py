"""Check each redirect on the target storefront, the way a crawler meets it.

The old path is requested on the target storefront without following redirects; each Location
is followed by hand, up to MAX_HOPS, and every request is kept as a hop {url, status, location}.
A redirect is ok when the old URL answers exactly one permanent redirect — 301, or 308, its
method-preserving twin, which search engines treat the same — to the expected new URL, and that
URL answers 200. Otherwise, in this order:
- error: the storefront could not be reached or timed out (that row only; the job goes on);
- loop: a URL came back (or more than MAX_HOPS redirects);
- not_redirected: the old URL answered without redirecting (200, 404 …) or only with a
  temporary redirect (302, 303, 307), which passes no ranking;
- wrong_destination: the redirects end somewhere else than the new URL;
- broken_destination: they end at the new URL, which answers 4xx/5xx;
- chain: more than one redirect on the way to the right, working page.
A page whose new URL is its old URL needs no redirect: it is ok when it answers 200.

Requests run in a bounded thread pool with a timeout. With an in-process transport (tests
mount the sandbox's WSGI app, whose database work must stay on the test's own connection) the
pool is one thread.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

import httpx
from django.db import transaction
from django.utils import timezone

from apps.projects.models import Project
from apps.redirects.choices import Problem
from apps.redirects.models import Redirect
from apps.redirects.paths import follow, same
from apps.stores import services as store_services

MAX_HOPS = 10
TIMEOUT_SECONDS = 10.0
WORKERS = 8
PERMANENT = (301, 308)
REDIRECTS = (301, 302, 303, 307, 308)
SAVE_BATCH = 200


@dataclass
class Check:
    problem: str
    hops: list[dict[str, Any]] = field(default_factory=list)
    final_status: int | None = None
    detail: str = ""


def probe(client: httpx.Client, start: str, expected: str) -> Check:
    """Request `start`, follow redirects by hand, and classify against `expected`."""
    hops: list[dict[str, Any]] = []
    seen = [start]
    url = start
    while True:
        try:
            response = client.get(url)
        except httpx.HTTPError as exc:
            hops.append({"url": url, "status": None, "location": ""})
            return Check(Problem.ERROR, hops, None, f"{type(exc).__name__} at {url}")
        location = response.headers.get("location", "")
        status = response.status_code
        hops.append({"url": url, "status": status, "location": location})
        if status not in REDIRECTS or not location:
            break
        nxt = follow(url, location)
        if any(same(nxt, s) for s in seen):
            return Check(Problem.LOOP, hops, status, f"{nxt} comes back")
        if len(hops) >= MAX_HOPS:
            return Check(Problem.LOOP, hops, status, f"more than {MAX_HOPS} redirects")
        seen.append(nxt)
        url = nxt
    return _classify(hops, start, expected)


def _classify(hops: list[dict[str, Any]], start: str, expected: str) -> Check:
    final = hops[-1]
    status = final["status"]
    redirects = hops[:-1]
    if not redirects:
        if same(start, expected) and status == 200:
            return Check(Problem.OK, hops, status)
        return Check(Problem.NOT_REDIRECTED, hops, status, f"the old URL answers {status}")
    first = redirects[0]["status"]
    if first not in PERMANENT:
        return Check(Problem.NOT_REDIRECTED, hops, status, f"temporary redirect ({first})")
    if not same(final["url"], expected):
        return Check(Problem.WRONG_DESTINATION, hops, status, f"ends at {final['url']}")
    if status != 200:
        return Check(Problem.BROKEN_DESTINATION, hops, status, f"the new URL answers {status}")
    if len(redirects) > 1:
        return Check(Problem.CHAIN, hops, status, f"{len(redirects)} redirects")
    return Check(Problem.OK, hops, status)


def check_all(
    items: Iterable[tuple[int, str, str]],
    client_factory: Callable[[], httpx.Client],
    workers: int = WORKERS,
) -> dict[int, Check]:
    """(key, start URL, expected URL) → Check, `workers` requests at a time. No database."""
    work = list(items)
    client = client_factory()
    try:
        if workers <= 1:
            return {key: probe(client, start, exp) for key, start, exp in work}
        with ThreadPoolExecutor(max_workers=workers) as pool:
            results = pool.map(lambda item: (item[0], probe(client, item[1], item[2])), work)
            return dict(results)
    finally:
        client.close()


def _client_factory() -> Callable[[], httpx.Client]:
    transport = store_services.current_transport()  # the tests' sandbox, else the network

    def make() -> httpx.Client:
        return httpx.Client(
            transport=transport,
            timeout=TIMEOUT_SECONDS,
            follow_redirects=False,
            headers={"User-Agent": "Migrator redirect check"},
            limits=httpx.Limits(max_connections=WORKERS, max_keepalive_connections=WORKERS),
        )

    return make


def verify(project: Project, *, workers: int | None = None) -> dict[str, int]:
    base = project.target_store.storefront_base
    if not base:
        raise ValueError(
            f"The target store “{project.target_store.name}” has no storefront URL: set it on "
            "the store."
        )
    rows = list(Redirect.objects.filter(project=project).exclude(new_url="").order_by("pk"))
    if workers is None:
        workers = 1 if store_services.current_transport() is not None else WORKERS
    counts: dict[str, int] = {choice: 0 for choice in Problem.values}
    for start in range(0, len(rows), SAVE_BATCH):
        chunk = rows[start : start + SAVE_BATCH]
        items = [(row.pk, base + row.old_path, row.new_url) for row in chunk]
        results = check_all(items, _client_factory(), workers)
        now = timezone.now()
        for row in chunk:
            check = results[row.pk]
            row.problem, row.hops, row.final_status = check.problem, check.hops, check.final_status
            row.problem_detail, row.checked_at = check.detail[:500], now
            counts[check.problem] += 1
        with transaction.atomic():
            Redirect.objects.bulk_update(
                chunk, ["problem", "hops", "final_status", "problem_detail", "checked_at"]
            )
    counts["checked"] = len(rows)
    return counts
