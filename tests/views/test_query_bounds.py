"""Every dashboard page and list API endpoint makes the same number of queries whatever the
size of the project, and shows a bounded number of rows.

Each case builds one project (a finished run with batches and failures, a live run, runs,
members, schedules, conflicts, a reconciliation report with items, important records,
redirects and redirect jobs, notification endpoints and deliveries, change events, record maps,
more projects and stores of the user), measures a GET, grows every table tenfold and measures
again, then tenfold once more. The query counts must be equal (an N+1 shows as a count that
grows with the rows); at the largest size an HTML page must have at most its bound of table
rows and an API list at most one page, with a link to the next one (an unbounded list shows
as rows that grow with the data).
"""

from __future__ import annotations

import itertools
import json
import re
from datetime import timedelta

import pytest
from django.contrib.auth import get_user_model
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from apps.conflicts.models import Conflict
from apps.core.roles import Role
from apps.golive.models import Delivery
from apps.golive.models import WebhookEndpoint as NotificationEndpoint
from apps.projects.models import Membership, Project
from apps.reconciliation.choices import ItemKind
from apps.reconciliation.models import (
    EntityReconciliation,
    ImportantRecord,
    ReconciliationItem,
    ReconciliationReport,
)
from apps.redirects.models import Redirect, RedirectJob
from apps.runs.choices import Action, BatchStatus, RunKind, RunStatus
from apps.runs.models import ChangeEvent, EntityBatch, RecordMap, RecordOutcome, Run, Schedule
from apps.stores.models import Platform, Store
from tests.factories import MembershipFactory, ProjectFactory
from tests.views.conftest import make_run

# The three sizes of the world, in units of growth (each unit adds a row to every table).
SIZES = (3, 30, 300)
ENTITIES = ("products", "customers")
REASONS = ("price is negative #{}", "HTTP 422 from target: 'sku' {} invalid", "no parent {}")
_ids = itertools.count(1)


class World:
    """One project and its user, with every table the dashboard reads; grow(k) adds k units."""

    def __init__(self, project: Project, user) -> None:
        self.project = project
        self.user = user
        now = timezone.now()
        plan = {
            "order": list(ENTITIES),
            "stages": [[e] for e in ENTITIES],
            "entities": {e: {"total": 10_000, "batches": 100, "points": 10_000} for e in ENTITIES},
            "points": 20_000,
        }
        self.run = make_run(project, status=RunStatus.PARTIALLY_FAILED, plan=plan)
        self.live = make_run(project, status=RunStatus.RUNNING, plan=plan)
        verify = make_run(project, status=RunStatus.SUCCEEDED, kind=RunKind.VERIFY, plan=plan)
        self.report = ReconciliationReport.objects.create(
            run=verify, project=project, started_at=now, finished_at=now
        )
        EntityReconciliation.objects.bulk_create(
            EntityReconciliation(report=self.report, entity=e, position=i, source_count=10)
            for i, e in enumerate(ENTITIES)
        )
        self.size = 0
        self.conflict = Conflict.objects.create(
            project=project, run=self.run, entity="products", source_id="first", fields=["price"]
        )

    def grow(self, k: int) -> None:
        project, user, now = self.project, self.user, timezone.now()
        start = self.size
        numbers = range(start, start + k)
        self.size += k
        for run, done in ((self.run, True), (self.live, False)):
            EntityBatch.objects.bulk_create(
                EntityBatch(
                    run=run,
                    entity=ENTITIES[n % 2],
                    seq=n,
                    status=BatchStatus.DONE if done or n % 2 else BatchStatus.PENDING,
                    read=10,
                    created=9,
                    failed=1,
                    requests=2,
                    started_at=now - timedelta(seconds=60),
                    finished_at=now - timedelta(seconds=30) if done or n % 2 else None,
                )
                for n in numbers
            )
            RecordOutcome.objects.bulk_create(
                RecordOutcome(
                    run=run,
                    entity=ENTITIES[n % 2],
                    source_id=f"{n}-{a}",
                    natural_key=f"SKU-{n}",
                    action=a,
                    reason=REASONS[n % 3].format(n) if a == Action.FAILED else "",
                )
                for n in numbers
                for a in (Action.FAILED, Action.CREATED)
            )
        RecordMap.objects.bulk_create(
            RecordMap(
                project=project,
                entity=ENTITIES[n % 2],
                source_id=str(n),
                target_id=str(n),
                natural_key=f"SKU-{n}",
                status="synced",
                canonical={"sku": f"SKU-{n}"},
                last_run=self.run,
                synced_at=now,
            )
            for n in numbers
        )
        # Finished runs for the project page and the cutover plan's rollback list.
        Run.objects.bulk_create(
            Run(
                project=project,
                kind=RunKind.FULL if n % 2 else RunKind.DELTA,
                status=RunStatus.SUCCEEDED,
                created_by=user,
                started_at=now - timedelta(hours=2),
                finished_at=now - timedelta(hours=1, seconds=n),
            )
            for n in numbers
        )
        Conflict.objects.bulk_create(
            Conflict(
                project=project,
                run=self.run,
                entity=ENTITIES[n % 2],
                source_id=str(n),
                target_id=str(n),
                natural_key=f"SKU-{n}",
                fields=["price", "name"] if n % 2 else ["stock"],
                base={"price": "1"},
                source={"price": "2"},
                target={"price": "3"},
                claimed_by=user if n % 3 == 0 else None,
            )
            for n in numbers
        )
        ReconciliationItem.objects.bulk_create(
            ReconciliationItem(
                report=self.report,
                kind=kind,
                entity=ENTITIES[n % 2],
                source_id=str(n),
                target_id=str(n),
                natural_key=f"SKU-{n}",
                diffs=[{"field": "price", "source": "1", "target": "2"}],
                passed=(n % 2 == 0) if kind == ItemKind.SPOT_CHECK else None,
            )
            for n in numbers
            for kind in ItemKind.values
        )
        ImportantRecord.objects.bulk_create(
            ImportantRecord(
                project=project, entity="products", natural_key=f"SKU-{n}", created_by=user
            )
            for n in numbers
        )
        Redirect.objects.bulk_create(
            Redirect(
                project=project,
                old_path=f"/product/p-{n}/",
                new_url=f"/p-{n}/" if n % 4 else "",
                entity="products",
                source_id=str(n),
                origin="source",
                state="mapped" if n % 4 else "unmapped",
                problem=("chain", "loop", "ok", "")[n % 4],
                hops=[{"url": f"/a-{n}/", "status": 301, "location": f"/p-{n}/"}],
            )
            for n in numbers
        )
        RedirectJob.objects.bulk_create(
            RedirectJob(project=project, kind="collect", status="succeeded", created_by=user)
            for n in numbers
        )
        ChangeEvent.objects.bulk_create(
            ChangeEvent(project=project, entity="products", source_id=str(n), action="updated")
            for n in numbers
        )
        endpoints = NotificationEndpoint.objects.bulk_create(
            NotificationEndpoint(
                project=project,
                url=f"https://hooks.example.com/{n}",
                secret_encrypted="x",
                events=["run.finished"],
                created_by=user,
            )
            for n in numbers
        )
        Delivery.objects.bulk_create(
            Delivery(
                project=project,
                channel="webhook",
                endpoint=endpoint,
                event="run.finished",
                payload={"run": 1},
                status="sent",
            )
            for endpoint in endpoints
        )
        Schedule.objects.bulk_create(
            Schedule(
                project=project,
                name=f"delta {n}",
                kind=RunKind.DELTA,
                trigger="interval",
                every=6,
                period="hours",
                last_run=self.run,
                created_by=user,
            )
            for n in numbers
        )
        # More people on the project, and more projects and stores of the user.
        users = get_user_model().objects.bulk_create(
            get_user_model()(username=f"member-{next(_ids)}") for _ in numbers
        )
        Membership.objects.bulk_create(
            Membership(project=project, user=member, role=Role.MERCHANDISER) for member in users
        )
        stores = Store.objects.bulk_create(
            Store(
                name=f"Store x{next(_ids)}",
                platform=Platform.WOOCOMMERCE,
                base_url="https://shop.example.com",
                created_by=user,
            )
            for _ in numbers
        )
        projects = Project.objects.bulk_create(
            Project(
                name=f"Other {next(_ids)}", source_store=store, target_store=project.target_store
            )
            for store in stores
        )
        Membership.objects.bulk_create(
            Membership(project=other, user=user, role=Role.ADMIN) for other in projects
        )


@pytest.fixture
def world(db):
    project = ProjectFactory()
    user = MembershipFactory(project=project, role=Role.ADMIN).user
    return World(project, user)


# The bounds below are the views' own page sizes: runs on the project page (20), failures on
# the run page (50), batches (100), the review queue (50), reconciliation items (25 per table,
# six tables), redirects (100) with the recent jobs (8), recent rollbackable runs (10) and
# deliveries (30 on the page, 100 in the API), API pages (50).
CONFIG = "configuration"  # its only growing lists are configuration, listed whole
API = None  # an API answer: one cursor page (≤ 50 results and a next link), or a bounded list

# name → (the URL in a world, the bound on data rows at the largest size)
PAGES = {
    # dashboard pages
    "projects:list": (lambda w: reverse("projects:list"), CONFIG),
    "projects:detail": (lambda w: reverse("projects:detail", args=[w.project.pk]), 20),
    "runs:detail": (lambda w: reverse("runs:detail", args=[w.run.pk]), 50 + 2),
    "runs:detail live": (lambda w: reverse("runs:detail", args=[w.live.pk]), 50 + 2),
    "runs:detail deep failures": (
        lambda w: reverse("runs:detail", args=[w.run.pk]) + "?before=99999999&entity=products",
        50 + 2,
    ),
    "runs:detail error filter": (
        lambda w: reverse("runs:detail", args=[w.run.pk]) + "?error=no+parent+%23",
        50 + 2,
    ),
    "runs:progress": (lambda w: reverse("runs:progress", args=[w.run.pk]), 2),
    "runs:progress live": (lambda w: reverse("runs:progress", args=[w.live.pk]), 2),
    "runs:batches": (lambda w: reverse("runs:batches", args=[w.run.pk]), 100),
    "runs:batches deep": (
        lambda w: reverse("runs:batches", args=[w.run.pk]) + "?after=1&status=done",
        100,
    ),
    "conflicts:index": (lambda w: reverse("conflicts:index"), CONFIG),
    "conflicts:queue": (lambda w: reverse("conflicts:queue", args=[w.project.pk]), 50),
    "conflicts:queue deep": (
        lambda w: reverse("conflicts:queue", args=[w.project.pk]) + "?after=3&entity=products",
        50,
    ),
    "conflicts:detail": (lambda w: reverse("conflicts:detail", args=[w.conflict.pk]), 50),
    "reconciliation:project": (
        lambda w: reverse("reconciliation:project", args=[w.project.pk]),
        6 * 25,
    ),
    "reconciliation:report": (
        lambda w: reverse("reconciliation:report", args=[w.report.pk]),
        6 * 25,
    ),
    "reconciliation:report deep items": (
        lambda w: reverse("reconciliation:report", args=[w.report.pk]) + "?items=mismatch&after=1",
        6 * 25,
    ),
    "reconciliation:important": (
        lambda w: reverse("reconciliation:important", args=[w.project.pk]),
        CONFIG,
    ),
    "redirects:dashboard": (lambda w: reverse("redirects:dashboard", args=[w.project.pk]), 108),
    "redirects:dashboard deep": (
        lambda w: reverse("redirects:dashboard", args=[w.project.pk]) + "?after=6:/",
        108,
    ),
    "redirects:dashboard problem": (
        lambda w: reverse("redirects:dashboard", args=[w.project.pk]) + "?problem=chain",
        108,
    ),
    "redirects:jobs": (lambda w: reverse("redirects:jobs", args=[w.project.pk]), 8),
    "golive:plan": (lambda w: reverse("golive:plan", args=[w.project.pk]), 40),
    "golive:notifications": (lambda w: reverse("golive:notifications", args=[w.project.pk]), 30),
    "webhooks:project": (lambda w: reverse("webhooks:project", args=[w.project.pk]), CONFIG),
    "stores:list": (lambda w: reverse("stores:list"), CONFIG),
    # API list endpoints, and the detail endpoints that carry lists or figures
    "api:project-list": (lambda w: reverse("api:project-list"), API),
    "api:project-detail": (lambda w: reverse("api:project-detail", args=[w.project.pk]), API),
    "api:project-members": (lambda w: reverse("api:project-members", args=[w.project.pk]), API),
    "api:project-settings": (lambda w: reverse("api:project-settings", args=[w.project.pk]), API),
    "api:project-runs": (lambda w: reverse("api:project-runs", args=[w.project.pk]), API),
    "api:run-detail": (lambda w: reverse("api:run-detail", args=[w.run.pk]), API),
    "api:run-detail live": (lambda w: reverse("api:run-detail", args=[w.live.pk]), API),
    "api:run-failures": (lambda w: reverse("api:run-failures", args=[w.run.pk]), API),
    "api:run-failures filtered": (
        lambda w: reverse("api:run-failures", args=[w.run.pk]) + "?error=no+parent+%23",
        API,
    ),
    "api:run-batches": (lambda w: reverse("api:run-batches", args=[w.run.pk]), API),
    "api:run-errors": (lambda w: reverse("api:run-errors", args=[w.run.pk]), API),
    "api:project-schedules": (lambda w: reverse("api:project-schedules", args=[w.project.pk]), API),
    "api:store-list": (lambda w: reverse("api:store-list"), API),
    "api:project-conflicts": (lambda w: reverse("api:project-conflicts", args=[w.project.pk]), API),
    "api:conflict-detail": (lambda w: reverse("api:conflict-detail", args=[w.conflict.pk]), API),
    "api:reconciliation-latest": (
        lambda w: reverse("api:reconciliation-latest", args=[w.project.pk]),
        API,
    ),
    "api:reconciliation-report": (
        lambda w: reverse("api:reconciliation-report", args=[w.report.pk]),
        API,
    ),
    "api:reconciliation-items": (
        lambda w: reverse("api:reconciliation-items", args=[w.report.pk]),
        API,
    ),
    "api:important-records": (lambda w: reverse("api:important-records", args=[w.project.pk]), API),
    "api:project-redirects": (lambda w: reverse("api:project-redirects", args=[w.project.pk]), API),
    "api:project-redirects-coverage": (
        lambda w: reverse("api:project-redirects-coverage", args=[w.project.pk]),
        API,
    ),
    "api:project-redirect-jobs": (
        lambda w: reverse("api:project-redirect-jobs", args=[w.project.pk]),
        API,
    ),
    "api:project-cutover": (lambda w: reverse("api:project-cutover", args=[w.project.pk]), API),
    # Endpoints are configuration (listed whole); deliveries are the newest 100.
    "api:notification-webhooks": (
        lambda w: reverse("api:notification-webhooks", args=[w.project.pk]),
        CONFIG,
    ),
    "api:notification-deliveries": (
        lambda w: reverse("api:notification-deliveries", args=[w.project.pk]),
        100,
    ),
    "api:project-webhooks": (lambda w: reverse("api:project-webhooks", args=[w.project.pk]), API),
}


def _get(client, url: str):
    with CaptureQueriesContext(connection) as captured:
        response = client.get(url, HTTP_HX_REQUEST="true" if "/progress/" in url else None)
    assert response.status_code in (200, 286), (url, response.status_code)
    return response, captured


# Rows of lists people build by hand, one at a time (members, schedules, the user's projects and
# stores, notification endpoints, the important-records list): shown whole, in a fixed number of
# queries; they do not grow with runs, records or failures.
CONFIGURATION_ROWS = {
    "username",
    "schedule-id",
    "project-id",
    "store-id",
    "endpoint-id",
    "record-id",
}


def _rows(response) -> int:
    """Data rows of an HTML page (configuration rows and a reconciliation item's nested rows of
    differences left out), or the results of an API page."""
    if response["Content-Type"].startswith("application/json"):
        body = json.loads(response.content)
        if isinstance(body, list):
            return len(body)
        return len(body["results"]) if isinstance(body, dict) and "results" in body else 0
    marks = re.findall(rb"<tr data-([a-z-]+)=", response.content)
    return sum(1 for m in marks if m.decode() not in CONFIGURATION_ROWS | {"field"})


def _check_rows(name: str, response, row_bound: int | str | None) -> str:
    rows = _rows(response)
    is_json = response["Content-Type"].startswith("application/json")
    if row_bound == CONFIG:
        # A page: no data rows besides the configuration rows. The API: the list is whole.
        return f"{name}: {rows} data rows on a configuration page" if rows and not is_json else ""
    if row_bound is not None:
        return f"{name}: {rows} data rows (bound {row_bound})" if rows > row_bound else ""
    body = json.loads(response.content)
    if isinstance(body, list):
        return f"{name}: an unpaginated list of {rows}"
    if "results" in body and (rows > 50 or not body.get("next")):
        return f"{name}: {rows} results, next={body.get('next')!r}"
    return ""


def test_queries_do_not_grow_with_the_data(client, world):
    """One world grown 3 → 30 → 300 units (tenfold twice), every page measured at each size:
    one test, so the world is built once; failures are collected so one run names them all."""
    client.force_login(world.user)
    counts: dict[str, list[int]] = {name: [] for name in PAGES}
    last_sql: dict[str, list[str]] = {}
    problems = []
    rows_seen: dict[str, list[int]] = {}
    for target in SIZES:
        world.grow(target - world.size)
        for name, (url_of, row_bound) in PAGES.items():
            url = url_of(world)
            _get(client, url)  # warm: caches, content types, the lag cache
            response, captured = _get(client, url)
            counts[name].append(len(captured))
            last_sql[name] = [q["sql"] for q in captured.captured_queries]
            rows_seen.setdefault(name, []).append(_rows(response))
            if target == SIZES[-1] and (problem := _check_rows(name, response, row_bound)):
                problems.append(problem)
    for name, seen in counts.items():
        if len(set(seen)) > 1:
            problems.append(
                f"{name}: {seen} queries at {SIZES} units; at {SIZES[-1]}:\n  "
                + "\n  ".join(sql[:300] for sql in last_sql[name])
            )
    # Queries and rows per page at the largest size, printed with -s.
    for name, seen in counts.items():
        print(f"{name}: {seen[-1]} queries, rows {rows_seen[name]}")
    assert not problems, "\n".join(problems)
