"""Schemathesis against the project's own OpenAPI schema (/api/schema/), in process.

The schema is loaded from this server's WSGI app (no socket) and every operation in it is
called with generated requests — valid and invalid bodies, queries and path parameters — as an
admin of a project that has real objects behind it: sandbox stores, a run with batches and
failures, a conflict, a cutover plan, a schedule, an important record, a notification webhook,
a reconciliation report and a redirects job. Path parameters are drawn either at random (which
must answer 404) or from those objects' ids. Every answer must be a non-5xx, its status code
documented for the operation and its body valid against the documented schema.

Each example runs in a savepoint that is rolled back, so one example's writes (a delete, a
started run) cannot make the next fail for a reason of its own. Generation is derandomized: CI
sends the same cases every time — schemathesis' deterministic coverage phase (boundary and
invalid values of every parameter and body field) plus MAX_EXAMPLES fuzzed cases per operation.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
import schemathesis
from django.core.cache import cache
from django.core.handlers.wsgi import WSGIHandler
from django.core.signals import request_finished, request_started
from django.db import close_old_connections, transaction
from django.utils import timezone
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from rest_framework.authtoken.models import Token
from schemathesis.checks import not_a_server_error
from schemathesis.core.parameters import ParameterLocation
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from apps.conflicts.models import Conflict
from apps.golive import notifications
from apps.golive import services as golive
from apps.golive.models import Check
from apps.projects.models import Membership
from apps.reconciliation.models import ImportantRecord, ReconciliationReport
from apps.redirects.models import RedirectJob
from apps.runs.choices import Action, BatchStatus, RunKind, RunStatus
from apps.runs.models import EntityBatch, RecordOutcome, Run
from apps.runs.schedules import create_schedule
from tests.support.rehearsal import make_rehearsal

MAX_EXAMPLES = 15
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
]


def in_test_transaction(app: Any) -> Any:
    """This server's WSGI app, sharing the test's connection and transaction.

    As Django's test client does, a request must not close the test's open connection (its
    request_started/finished handlers would, since the test runs inside a transaction)."""

    def wsgi(environ: dict[str, Any], start_response: Any) -> Any:
        request_started.disconnect(close_old_connections)
        request_finished.disconnect(close_old_connections)
        try:
            return app(environ, start_response)
        finally:
            request_started.connect(close_old_connections)
            request_finished.connect(close_old_connections)

    return wsgi


# The coverage phase's requests with undeclared methods (TRACE, …) only meet DRF's uniform 405:
# left out to keep the test's time for the operations themselves.
CONFIG = schemathesis.Config.from_dict({"phases": {"coverage": {"unexpected-methods": []}}})
schema = schemathesis.openapi.from_wsgi(
    "/api/schema/", in_test_transaction(WSGIHandler()), config=CONFIG
)

# The ids of the current test's objects, by path parameter, filled by the `world` fixture.
KNOWN: dict[str, dict[str, int]] = {}


def known_path_parameters(path: str, names: list[str]) -> dict[str, int]:
    """Existing objects for an operation's path parameters: `id` names a different model per
    path (/runs/{id}/ is a run, /stores/{id}/ a store, …)."""
    prefix = path.removeprefix("/api/v1/").split("/", 1)[0]
    values = {}
    for name in names:
        if name == "id":
            values[name] = KNOWN["id"][prefix]
        else:
            values[name] = KNOWN[name]["id"]
    return values


@schema.hook
def before_generate_path_parameters(context: Any, strategy: Any) -> Any:
    operation = context.operation
    names = [parameter.name for parameter in operation.path_parameters]
    if not names:
        return strategy
    existing = st.builds(lambda: known_path_parameters(operation.path, names))
    return st.one_of(existing, strategy)


@pytest.fixture
def world(sandbox_http) -> dict[str, str]:
    """A project between two sandboxes with one object of every kind the API addresses; the
    ids go to KNOWN, the admin's token header is returned."""
    cache.clear()
    rehearsal = make_rehearsal(sandbox_http, products=2, slug_suffix="-st")
    project = rehearsal.project
    admin = Membership.objects.get(project=project).user
    token = Token.objects.create(user=admin)

    now = timezone.now()
    run = Run.objects.create(
        project=project,
        kind=RunKind.FULL,
        status=RunStatus.PARTIALLY_FAILED,
        started_at=now - timedelta(minutes=10),
        finished_at=now - timedelta(minutes=5),
        until=now - timedelta(minutes=10),
        plan={"order": ["products"], "entities": {"products": {"total": 3, "batches": 1}}},
    )
    batch = EntityBatch.objects.create(
        run=run, entity="products", seq=1, status=BatchStatus.DONE, read=3, created=2, failed=1
    )
    RecordOutcome.objects.create(
        run=run, batch=batch, entity="products", source_id="11", action=Action.CREATED
    )
    RecordOutcome.objects.create(
        run=run,
        batch=batch,
        entity="products",
        source_id="12",
        natural_key="SKU-12",
        action=Action.FAILED,
        reason="price: not a number",
    )
    report = ReconciliationReport.objects.create(
        run=Run.objects.create(project=project, kind=RunKind.VERIFY, status=RunStatus.SUCCEEDED),
        project=project,
        started_at=now,
        finished_at=now,
    )
    conflict = Conflict.objects.create(
        project=project,
        kind="edit",
        entity="products",
        source_id="1",
        target_id="101",
        natural_key="SKU-1",
        base={"sku": "SKU-1", "name": "Base"},
        source={"sku": "SKU-1", "name": "Source"},
        source_resolved={"sku": "SKU-1", "name": "Source"},
        target={"sku": "SKU-1", "name": "Target"},
        merged={"sku": "SKU-1", "name": "Target"},
        fields=["name"],
        policy="manual",
    )
    important = ImportantRecord.objects.create(
        project=project, entity="products", natural_key="SKU-1", created_by=admin
    )
    job = RedirectJob.objects.create(project=project, kind="collect", status="succeeded")
    schedule = create_schedule(
        project, user=admin, kind=RunKind.DELTA, trigger="interval", every=6, period="hours"
    )
    endpoint = notifications.create_endpoint(
        project, user=admin, url="https://hooks.example.com/migrator"
    )
    plan = golive.get_plan(project)

    KNOWN.clear()
    KNOWN.update(
        {
            "id": {
                "projects": project.pk,
                "stores": project.source_store_id,
                "runs": run.pk,
                "conflicts": conflict.pk,
                "important-records": important.pk,
                "reconciliation": report.pk,
                "redirect-jobs": job.pk,
                "schedules": schedule.pk,
            },
            "project_id": {"id": project.pk},
            "gate_id": {"id": plan.gates.order_by("order").first().pk},
            "check_id": {"id": Check.objects.filter(gate__plan=plan).order_by("pk").first().pk},
            "unit_id": {"id": plan.units.order_by("pk").first().pk},
            "endpoint_id": {"id": endpoint.pk},
        }
    )
    yield {"Authorization": f"Token {token.key}"}
    KNOWN.clear()
    cache.clear()


@pytest.mark.django_db
@schema.parametrize()
@settings(
    max_examples=MAX_EXAMPLES,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=list(HealthCheck),
)
def test_api_answers_match_the_schema(case, world):
    coverage = case.meta.phase.name.value == "coverage"
    if coverage and case.path_parameters and not case.meta.is_negative_at(ParameterLocation.PATH):
        # The coverage phase varies bodies and queries on one fixed, valid path (id 0): aim
        # those at existing objects, so bodies reach the serializers rather than a 404. Random
        # ids are the fuzzing phase's (see before_generate_path_parameters).
        case.path_parameters = known_path_parameters(case.path, list(case.path_parameters))
    checks = CHECKS
    if not all(routable(value) for value in (case.path_parameters or {}).values()):
        # Every path parameter is an <int:…> in the URLconf: a segment that is not one (a
        # negative case's "null,null") matches no route, and Django's own HTML 404 answers it
        # before DRF sees the request. That page is not an answer of the API: only no 5xx.
        checks = [not_a_server_error]
    with transaction.atomic():
        response = case.call(headers=world)
        if response.status_code == 415 and case.meta.generation.mode.is_negative:
            # A negative case's body that cannot be encoded in the declared media type goes
            # out without a Content-Type; DRF's content negotiation answers 415, as any API
            # must, for every operation with a body. Still never a 5xx.
            checks = [not_a_server_error]
        case.validate_response(response, checks=checks, headers=world)
        transaction.set_rollback(True)


def routable(value: Any) -> bool:
    """Whether Django's `int` path converter ([0-9]+) matches the value as sent."""
    return str(value).isascii() and str(value).isdigit()
