"""The authorization matrix: every URL pattern and every API route, requested as anonymous, a
non-member (an admin of another project), a merchandiser, a project manager and an admin of the
project. Zero violations, and a route without an entry in MATRIX fails the build.

Per project-scoped route and method: anonymous → the login page (pages) or 401/403 (API); a
non-member → 404 (the project's existence is not revealed); a member whose role lacks the
capability → 403, before any validation and with nothing changed; a member with it → anything
but a refusal or a 500. A new route must be classified here (docs/RELIABILITY.md).
"""

from __future__ import annotations

import time
from typing import Any

import pytest
from django.apps import apps as django_apps
from django.contrib.auth import get_user_model
from django.db import connection
from django.test import Client
from django.urls import reverse
from django.utils import timezone
from rest_framework.test import APIClient

from apps.conflicts.models import Conflict
from apps.core.crypto import encrypt_json
from apps.core.roles import Capability, Role
from apps.golive import services as golive_services
from apps.golive.models import WebhookEndpoint as NotificationEndpoint
from apps.projects.models import Project
from apps.reconciliation.models import ImportantRecord, ReconciliationReport
from apps.redirects.models import RedirectJob
from apps.runs.choices import Action, BatchStatus, RunKind, RunStatus
from apps.runs.models import EntityBatch, RecordOutcome, Run, Schedule
from apps.webhooks.models import EndpointStatus
from apps.webhooks.models import WebhookEndpoint as ReceiverEndpoint
from tests.factories import MembershipFactory, ProjectFactory
from tests.support.authz import (
    ACTORS,
    ANONYMOUS,
    LOGIN,
    NON_MEMBER,
    PLATFORM,
    PLATFORM_ENTRY,
    PROJECT,
    PUBLIC,
    RECEIVER,
    STAFF,
    STAFF_ENTRY,
    UNSAFE,
    Entry,
    Route,
    Verdicts,
    all_routes,
    describe,
    expectation,
    judge,
    login,
    project,
    public,
    receiver,
    sample_path,
)
from tests.support.rehearsal import make_rehearsal

VIEW = Capability.VIEW
START = Capability.START_RUN
RESOLVE = Capability.RESOLVE_CONFLICT
APPROVE = Capability.APPROVE_GATE
MANAGE = Capability.MANAGE

# Prefixes of the sandbox's emulated platform APIs (apps/sandbox/urls.py).
WC = "sandbox/<slug:slug>/wp-json/wc/v3/"
WP = "sandbox/<slug:slug>/wp-json/wp/v2/"
BC = "sandbox/<slug:slug>/stores/<str:store_hash>/"

# One entry per route: the key is the route's name, or its full pattern when it has none.
# project(obj, METHOD=capability): `obj` is what the route's `pk` names (its other ids —
# project_id, schedule_id, gate_id … — name themselves).
MATRIX: dict[str, Entry] = {
    # --- public, login-only -------------------------------------------------------------------
    "": public("GET", note="redirects to the project list, which asks for a login"),
    "core:login": public("GET", "POST"),
    "core:logout": public("POST"),
    "core:healthz": public("GET", note="503 when the broker is down: degraded, not a crash"),
    "projects:list": login("GET", "POST"),
    "stores:list": login("GET"),
    "stores:create": login("GET", "POST"),
    "conflicts:index": login("GET"),
    # The OpenAPI description and its docs UI hold no data (tests/api/test_schema.py).
    "api-schema": public("GET"),
    "api-docs": public("GET"),
    # The admin's own login and logout; every other admin/ route is staff-only (STAFF_PREFIX).
    "admin:login": public("GET", "POST"),
    "admin:logout": public("POST"),
    "api:store-list": login("GET", "POST"),
    "api:project-list": login("GET", "POST"),
    # --- webhook receivers: the endpoint's token and the platform's signature ------------------
    "webhooks:woocommerce": receiver("POST"),
    "webhooks:bigcommerce": receiver("POST"),
    # --- dashboard: projects ------------------------------------------------------------------
    "projects:detail": project(GET=VIEW),
    "projects:start_run": project(POST=START),
    "projects:lag": project(GET=VIEW),
    "projects:schedule_create": project(POST=MANAGE),
    "projects:schedule_cutover": project(POST=MANAGE),
    "projects:schedule_toggle": project("schedule", POST=MANAGE),
    "projects:schedule_delete": project("schedule", fresh=True, POST=MANAGE),
    "projects:add_member": project(POST=MANAGE),
    "projects:settings": project(POST=MANAGE),
    # --- dashboard: runs ----------------------------------------------------------------------
    "runs:detail": project("run", GET=VIEW),
    "runs:progress": project("run", GET=VIEW),
    "runs:cancel": project("run", POST=START),
    "runs:retry_failed": project("run", POST=START),
    "runs:batches": project("run", GET=VIEW),
    "runs:start_for_real": project("dry_run", POST=START),
    # --- dashboard: stores (shared; access follows the projects using them) --------------------
    "stores:edit": project("store", GET=MANAGE, POST=MANAGE),
    "stores:sandbox": project("store", GET=VIEW, POST=MANAGE),
    # --- dashboard: conflicts -----------------------------------------------------------------
    "conflicts:queue": project(GET=VIEW),
    "conflicts:bulk_preview": project(GET=RESOLVE),
    "conflicts:bulk_resolve": project(POST=RESOLVE),
    "conflicts:detail": project("conflict", GET=VIEW),
    "conflicts:resolve": project("conflict", POST=RESOLVE),
    "conflicts:resolve_delete": project("delete_conflict", POST=RESOLVE),
    "conflicts:dismiss": project("conflict", fresh=True, POST=RESOLVE),
    # --- dashboard: webhooks (from the source) ------------------------------------------------
    "webhooks:project": project(GET=VIEW),
    "webhooks:connect": project(POST=MANAGE),
    # --- dashboard: reconciliation ------------------------------------------------------------
    "reconciliation:project": project(GET=VIEW),
    "reconciliation:start_verify": project(POST=START),
    "reconciliation:important": project(GET=VIEW, POST=MANAGE),
    "reconciliation:important_remove": project("important", fresh=True, POST=MANAGE),
    "reconciliation:report": project("report", GET=VIEW),
    "reconciliation:csv": project("report", GET=VIEW),
    # --- dashboard: redirects -----------------------------------------------------------------
    "redirects:dashboard": project(GET=VIEW),
    "redirects:jobs": project(GET=VIEW),
    "redirects:start": project(POST=START),
    "redirects:upload": project(POST=START),
    "redirects:export": project(GET=VIEW),
    # --- dashboard: go-live -------------------------------------------------------------------
    "golive:plan": project(GET=VIEW),
    "golive:gate_approve": project("gate", POST=APPROVE),
    "golive:gate_withdraw": project("gate", POST=APPROVE),
    "golive:gate_edit": project("gate", POST=MANAGE),
    "golive:check_edit": project("check", POST=MANAGE),
    "golive:unit_edit": project("unit", POST=MANAGE),
    "golive:rollback": project(POST=APPROVE),
    "golive:notifications": project(GET=VIEW),
    "golive:endpoint_create": project(POST=MANAGE),
    "golive:endpoint_delete": project("endpoint", fresh=True, POST=MANAGE),
    "golive:email_edit": project(POST=MANAGE),
    # --- API: stores, projects ----------------------------------------------------------------
    "api:store-detail": project("store", GET=VIEW, PATCH=MANAGE),
    "api:store-sandbox": project("store", GET=VIEW, PATCH=MANAGE),
    "api:store-sandbox-webhooks": project("store", GET=VIEW, PATCH=MANAGE),
    "api:project-detail": project(GET=VIEW),
    "api:project-members": project(GET=VIEW, POST=MANAGE),
    "api:project-settings": project(GET=VIEW, PATCH=MANAGE),
    # --- API: runs, schedules, lag ------------------------------------------------------------
    "api:project-runs": project(GET=VIEW, POST=START),
    "api:run-detail": project("run", GET=VIEW),
    "api:run-cancel": project("run", POST=START),
    "api:run-failures": project("run", GET=VIEW),
    "api:run-batches": project("run", GET=VIEW),
    "api:run-errors": project("run", GET=VIEW),
    "api:run-start-for-real": project("dry_run", POST=START),
    "api:run-retry-failed": project("run", POST=START),
    # Schedules: admins manage them, project managers see them (as on the project page).
    "api:project-schedules": project(GET=START, POST=MANAGE),
    "api:schedule-detail": project("schedule", fresh=True, GET=START, PATCH=MANAGE, DELETE=MANAGE),
    "api:project-lag": project(GET=VIEW),
    # --- API: conflicts -----------------------------------------------------------------------
    "api:project-conflicts": project(GET=VIEW),
    "api:project-conflicts-bulk-resolve": project(POST=RESOLVE),
    "api:conflict-detail": project("conflict", GET=VIEW),
    "api:conflict-resolve": project("conflict", POST=RESOLVE),
    "api:conflict-resolve-delete": project("delete_conflict", POST=RESOLVE),
    "api:conflict-dismiss": project("conflict", fresh=True, POST=RESOLVE),
    # --- API: webhooks (from the source) ------------------------------------------------------
    "api:project-webhooks": project(GET=VIEW, POST=MANAGE),
    # --- API: reconciliation ------------------------------------------------------------------
    "api:reconciliation-latest": project(GET=VIEW),
    "api:important-records": project(GET=VIEW, POST=MANAGE),
    "api:important-record-detail": project(
        "important", fresh=True, GET=VIEW, PATCH=MANAGE, DELETE=MANAGE
    ),
    "api:reconciliation-report": project("report", GET=VIEW),
    "api:reconciliation-items": project("report", GET=VIEW),
    "api:reconciliation-csv": project("report", GET=VIEW),
    # --- API: redirects -----------------------------------------------------------------------
    "api:project-redirects": project(GET=VIEW),
    "api:project-redirects-coverage": project(GET=VIEW),
    "api:project-redirect-jobs": project(GET=VIEW, POST=START),
    "api:project-redirect-uploads": project(POST=START),
    "api:project-redirects-export": project(GET=VIEW),
    "api:redirect-job-detail": project("redirect_job", GET=VIEW),
    # --- API: go-live -------------------------------------------------------------------------
    "api:project-cutover": project(GET=VIEW),
    "api:cutover-gate": project("gate", GET=VIEW, PATCH=MANAGE),
    "api:cutover-gate-approve": project("gate", POST=APPROVE),
    "api:cutover-gate-withdraw": project("gate", POST=APPROVE),
    "api:cutover-check": project("check", PATCH=MANAGE),
    "api:cutover-unit": project("unit", PATCH=MANAGE),
    "api:project-rollbacks": project(POST=APPROVE),
    "api:notification-webhooks": project(GET=VIEW, POST=MANAGE),
    "api:notification-webhook": project("endpoint", fresh=True, PATCH=MANAGE, DELETE=MANAGE),
    "api:notification-deliveries": project(GET=VIEW),
    "api:notification-email": project(GET=VIEW, PUT=MANAGE),
    # --- the sandbox: emulated platform APIs (their own keys) and storefronts -------------------
    WC + r"^products/?$": PLATFORM_ENTRY,
    WC + r"^products/batch/?$": PLATFORM_ENTRY,
    WC + r"^products/(?P<product_id>\d+)/?$": PLATFORM_ENTRY,
    WC + r"^products/(?P<product_id>\d+)/variations/?$": PLATFORM_ENTRY,
    WC + r"^products/(?P<product_id>\d+)/variations/batch/?$": PLATFORM_ENTRY,
    WC + r"^products/(?P<product_id>\d+)/variations/(?P<variation_id>\d+)/?$": PLATFORM_ENTRY,
    WC + r"^products/categories/?$": PLATFORM_ENTRY,
    WC + r"^products/categories/batch/?$": PLATFORM_ENTRY,
    WC + r"^products/categories/(?P<object_id>\d+)/?$": PLATFORM_ENTRY,
    WC + r"^products/brands/?$": PLATFORM_ENTRY,
    WC + r"^products/brands/batch/?$": PLATFORM_ENTRY,
    WC + r"^products/brands/(?P<object_id>\d+)/?$": PLATFORM_ENTRY,
    WC + r"^customers/?$": PLATFORM_ENTRY,
    WC + r"^customers/batch/?$": PLATFORM_ENTRY,
    WC + r"^customers/(?P<object_id>\d+)/?$": PLATFORM_ENTRY,
    WC + r"^orders/?$": PLATFORM_ENTRY,
    WC + r"^orders/batch/?$": PLATFORM_ENTRY,
    WC + r"^orders/(?P<object_id>\d+)/?$": PLATFORM_ENTRY,
    WC + r"^webhooks/?$": PLATFORM_ENTRY,
    WC + r"^webhooks/(?P<object_id>\d+)/?$": PLATFORM_ENTRY,
    WC + r"^(?P<rest>.*)$": PLATFORM_ENTRY,
    WP + r"^posts/?$": PLATFORM_ENTRY,
    WP + r"^posts/(?P<object_id>\d+)/?$": PLATFORM_ENTRY,
    WP + r"^tags/?$": PLATFORM_ENTRY,
    WP + r"^tags/(?P<object_id>\d+)/?$": PLATFORM_ENTRY,
    WP + r"^users/me/?$": PLATFORM_ENTRY,
    WP + r"^users/?$": PLATFORM_ENTRY,
    WP + r"^users/(?P<object_id>\d+)/?$": PLATFORM_ENTRY,
    WP + r"^media/?$": PLATFORM_ENTRY,
    WP + r"^media/(?P<object_id>\d+)/?$": PLATFORM_ENTRY,
    WP + r"^(?P<rest>.*)$": PLATFORM_ENTRY,
    r"sandbox:bigcommerce-products": PLATFORM_ENTRY,
    r"sandbox:bigcommerce-product": PLATFORM_ENTRY,
    r"sandbox:bigcommerce-product-variants": PLATFORM_ENTRY,
    BC + r"v3/catalog/products/<int:product_id>/images": PLATFORM_ENTRY,
    BC + r"v3/catalog/products/<int:product_id>/images/<int:image_id>": PLATFORM_ENTRY,
    BC + r"v3/catalog/products/<int:product_id>/custom-fields": PLATFORM_ENTRY,
    BC + r"v3/catalog/products/<int:product_id>/custom-fields/<int:field_id>": PLATFORM_ENTRY,
    BC + r"v3/catalog/products/<int:product_id>/variants/<int:variant_id>": PLATFORM_ENTRY,
    BC + r"v3/catalog/products/<int:product_id>/options/<int:option_id>": PLATFORM_ENTRY,
    BC + r"v3/catalog/products/<int:product_id>/options/<int:option_id>/values/<int:value_id>": (
        PLATFORM_ENTRY
    ),
    BC + r"v3/catalog/trees": PLATFORM_ENTRY,
    BC + r"v3/catalog/trees/categories": PLATFORM_ENTRY,
    BC + r"v3/catalog/trees/<str:tree_id>/categories": PLATFORM_ENTRY,
    BC + r"v3/catalog/brands": PLATFORM_ENTRY,
    BC + r"v3/catalog/brands/<int:brand_id>": PLATFORM_ENTRY,
    BC + r"v3/customers": PLATFORM_ENTRY,
    BC + r"v3/customers/addresses": PLATFORM_ENTRY,
    BC + r"v3/storefront/redirects": PLATFORM_ENTRY,
    BC + r"v3/hooks": PLATFORM_ENTRY,
    BC + r"v3/hooks/<int:hook_id>": PLATFORM_ENTRY,
    BC + r"v2/orders": PLATFORM_ENTRY,
    BC + r"v2/orders/count": PLATFORM_ENTRY,
    BC + r"v2/orders/<int:order_id>": PLATFORM_ENTRY,
    BC + r"v2/orders/<int:order_id>/products": PLATFORM_ENTRY,
    BC + r"v2/orders/<int:order_id>/shipping_addresses": PLATFORM_ENTRY,
    BC + r"v2/order_statuses": PLATFORM_ENTRY,
    BC + r"v2/blog/posts": PLATFORM_ENTRY,
    BC + r"v2/blog/posts/count": PLATFORM_ENTRY,
    BC + r"v2/blog/posts/<int:post_id>": PLATFORM_ENTRY,
    r"sandbox/<slug:slug>/wp-json/redirection/v1/import/file/<int:group_id>": PLATFORM_ENTRY,
    # The sandbox shop's storefront: public, as a shop's pages are.
    r"sandbox/<slug:slug>/": public("GET"),
    r"sandbox/^(?P<slug>[-a-zA-Z0-9_]+)/(?P<path>.*)$": public("GET"),
}

# Django's admin: every view is wrapped by AdminSite.admin_view (is_staff). Its routes come from
# the ModelAdmin registrations, so they are classified by prefix rather than one by one; each is
# still requested below as anonymous and as a logged-in non-staff user.
STAFF_PREFIX = "admin/"


def entry_for(route: Route) -> Entry | None:
    if route.key in MATRIX:
        return MATRIX[route.key]
    if route.pattern.startswith(STAFF_PREFIX):
        return STAFF_ENTRY
    return None


# --- the table matches the URLconf ------------------------------------------------------------


def test_every_route_has_an_entry_and_every_entry_a_route():
    routes = all_routes()
    keys = [route.key for route in routes]
    missing = [key for key, route in zip(keys, routes, strict=True) if entry_for(route) is None]
    stale = sorted(set(MATRIX) - set(keys))
    duplicated = sorted({key for key in keys if keys.count(key) > 1})
    problems = [f"no entry in MATRIX (classify it): {key!r}" for key in missing]
    problems += [f"entry for a route that no longer exists: {key!r}" for key in stale]
    problems += [f"two routes share the key {key!r}" for key in duplicated]
    assert not problems, "\n".join(problems)


def test_api_entries_list_exactly_the_methods_the_view_serves():
    """A DRF view that gains a handler (say DELETE) must gain a row, with its capability."""
    problems = []
    for route in all_routes():
        cls, entry = route.view_class, entry_for(route)
        if entry is None or cls is None or not route.key.startswith("api:"):
            continue
        names = ("get", "post", "put", "patch", "delete")
        served = {m.upper() for m in names if hasattr(cls, m) and m in cls.http_method_names}
        if served != set(entry.methods):
            problems.append(
                f"{route.key}: serves {sorted(served)}, MATRIX lists {sorted(entry.methods)}"
            )
    assert not problems, "\n".join(problems)


def test_project_entries_name_known_capabilities():
    for key, entry in MATRIX.items():
        if entry.category == PROJECT:
            assert entry.methods, key
            assert set(entry.methods.values()) <= set(Capability.values), key


# --- the world: one project with one of everything ---------------------------------------------


class World:
    def __init__(self, transport: Any) -> None:
        rehearsal = make_rehearsal(transport, products=2, slug_suffix="authz")
        self.rehearsal = rehearsal
        self.project = rehearsal.project
        self.store = self.project.source_store
        self.users = {
            role: MembershipFactory(project=self.project, role=role).user
            for role in (Role.MERCHANDISER, Role.PROJECT_MANAGER, Role.ADMIN)
        }
        other = self.other = ProjectFactory()
        self.users[NON_MEMBER] = MembershipFactory(project=other, role=Role.ADMIN).user
        self.admin = self.users[Role.ADMIN]
        now = timezone.now()
        self.run = Run.objects.create(
            project=self.project,
            kind=RunKind.FULL,
            status=RunStatus.RUNNING,
            started_at=now,
            plan={"order": ["products"], "entities": {"products": {"total": 2, "batches": 1}}},
        )
        batch = EntityBatch.objects.create(
            run=self.run, entity="products", seq=1, status=BatchStatus.DONE, read=2, failed=1
        )
        RecordOutcome.objects.create(
            run=self.run,
            batch=batch,
            entity="products",
            source_id="1",
            natural_key="SKU-1",
            action=Action.FAILED,
            reason="price: not a number",
        )
        self.dry_run = Run.objects.create(
            project=self.project,
            kind=RunKind.DRY_RUN,
            status=RunStatus.SUCCEEDED,
            options={"of": RunKind.DELTA},
            started_at=now,
            finished_at=now,
            plan={"order": ["products"], "entities": {"products": {"total": 2}}},
        )
        verify = Run.objects.create(
            project=self.project,
            kind=RunKind.VERIFY,
            status=RunStatus.SUCCEEDED,
            started_at=now,
            finished_at=now,
        )
        self.report = ReconciliationReport.objects.create(
            run=verify, project=self.project, started_at=now, finished_at=now
        )
        self.redirect_job = RedirectJob.objects.create(project=self.project, kind="collect")
        self.plan = golive_services.get_plan(self.project)
        self.gate = self.plan.gates.order_by("order").first()
        self.check = self.gate.checks.first() or self.plan.gates.last().checks.first()
        self.unit = self.plan.units.first()
        self.receiver = ReceiverEndpoint.objects.create(
            project=other,
            platform="woocommerce",
            token="authz-matrix-token-0123456789",
            secret_encrypted=encrypt_json({"secret": "whsec-authz"}),
            status=EndpointStatus.CONNECTED,
        )
        self._n = 0
        self.count_sql = _count_sql()
        self.shared: dict[str, Any] = {
            "project": self.project,
            "run": self.run,
            "dry_run": self.dry_run,
            "store": self.store,
            "report": self.report,
            "redirect_job": self.redirect_job,
            "gate": self.gate,
            "check": self.check,
            "unit": self.unit,
            "conflict": self.make_conflict(),
            "delete_conflict": self.make_delete_conflict(),
            "schedule": self.make_schedule(),
            "important": self.make_important(),
            "endpoint": self.make_endpoint(),
        }
        self.make_foreign()

    def make_foreign(self) -> None:
        """The same kinds of object, in the other project: named under our project's id they
        must be 404 to our own admin (an id from one project never works through another)."""
        plan = golive_services.get_plan(self.other)
        gate = plan.gates.order_by("order").first()
        self.foreign = {
            "schedule": self.make_schedule(self.other),
            "important": self.make_important(self.other),
            "endpoint": self.make_endpoint(self.other),
            "gate": gate,
            "check": gate.checks.first() or plan.gates.last().checks.first(),
            "unit": plan.units.first(),
        }

    def foreign_kwargs(self, route: Route, entry: Entry) -> tuple[dict[str, Any], Any] | None:
        """The route's kwargs with its object taken from the other project, when the route
        names both a project and an object of it; else None."""
        if entry.obj not in self.foreign:
            return None
        kwargs, _ = self.kwargs(route, entry)
        project_key = "project_id" if "project_id" in kwargs else "pk"
        if kwargs.get(project_key) != self.project.pk or len(kwargs) < 2:
            return None
        foreign = self.foreign[entry.obj]
        if self.subject_kwarg in (None, project_key):
            return None
        kwargs[self.subject_kwarg] = foreign.pk
        return kwargs, foreign

    # Objects a request may use up (dismiss, delete): one per request when the entry says fresh.
    def _next(self) -> int:
        self._n += 1
        return self._n

    def make_conflict(self) -> Conflict:
        n = self._next()
        record = {"sku": f"SKU-{n}", "name": "Base", "price": "10.00"}
        return Conflict.objects.create(
            project=self.project,
            run=self.run,
            kind="edit",
            entity="products",
            source_id=str(n),
            target_id=str(100 + n),
            natural_key=f"SKU-{n}",
            base=record,
            source={**record, "name": "Source"},
            source_resolved={**record, "name": "Source"},
            target={**record, "name": "Target"},
            merged={**record, "name": "Target"},
            fields=["name"],
            policy="manual",
        )

    def make_delete_conflict(self) -> Conflict:
        n = self._next()
        return Conflict.objects.create(
            project=self.project,
            run=self.run,
            kind="delete",
            entity="products",
            source_id=f"d{n}",
            target_id=str(500 + n),
            natural_key=f"SKU-D{n}",
            base={"sku": f"SKU-D{n}", "name": "Gone"},
            target={"sku": f"SKU-D{n}", "name": "Gone"},
            policy="review",
        )

    def make_schedule(self, project: Any = None) -> Schedule:
        from apps.runs.schedules import create_schedule

        return create_schedule(
            project or self.project,
            user=self.admin,
            name=f"Nightly {self._next()}",
            kind=RunKind.DELTA,
            trigger=Schedule.Trigger.INTERVAL,
            every=1,
            period=Schedule.Period.DAYS,
        )

    def make_important(self, project: Any = None) -> ImportantRecord:
        return ImportantRecord.objects.create(
            project=project or self.project, entity="products", natural_key=f"SKU-I{self._next()}"
        )

    def make_endpoint(self, project: Any = None) -> NotificationEndpoint:
        return NotificationEndpoint.objects.create(
            project=project or self.project,
            url=f"https://hooks.example.com/{self._next()}",
            secret_encrypted=encrypt_json({"secret": "notify-secret"}),
        )

    def object_for(self, name: str, fresh: bool) -> Any:
        if fresh:
            return getattr(self, f"make_{name}")()
        return self.shared[name]

    def kwargs(self, route: Route, entry: Entry) -> tuple[dict[str, Any], Any]:
        """The route's kwargs from real objects, and the object the request acts on."""
        subject = self.object_for(entry.obj, entry.fresh)
        own_ids = {
            "project_id": "project",
            "schedule_id": "schedule",
            "gate_id": "gate",
            "check_id": "check",
            "unit_id": "unit",
            "endpoint_id": "endpoint",
        }
        # `pk` names the entry's object, unless the route names that one by its own id
        # (projects/<pk>/schedules/<schedule_id>/…): then `pk` is the project.
        pk_kind = (
            entry.obj if entry.obj not in [own_ids.get(n) for n in route.kwarg_names] else "project"
        )
        kwargs: dict[str, Any] = {}
        self.subject_kwarg = None
        for name in route.kwarg_names:
            kind = pk_kind if name == "pk" else own_ids[name]
            if kind == entry.obj:
                self.subject_kwarg = name
            kwargs[name] = (subject if kind == entry.obj else self.shared[kind]).pk
        return kwargs, subject


# --- what a forbidden request must leave unchanged ---------------------------------------------


def _count_sql() -> str:
    """One query counting the rows of every table of ours (and users, audit included)."""
    models = [m for m in django_apps.get_models() if m.__module__.startswith("apps.")]
    tables = sorted({m._meta.db_table for m in [*models, get_user_model()]})
    quote = connection.ops.quote_name
    # Our own table names, quoted: nothing from outside goes into this SQL.
    counts = ", ".join(f"(SELECT COUNT(*) FROM {quote(t)})" for t in tables)  # noqa: S608
    return f"SELECT {counts}"


def _row(obj: Any) -> dict[str, Any] | None:
    return type(obj)._default_manager.filter(pk=obj.pk).values().first()


def fingerprint(world: World, subject: Any) -> tuple[Any, ...]:
    with connection.cursor() as cursor:
        cursor.execute(world.count_sql)
        counts = cursor.fetchone()
    return (counts, _row(world.project), _row(subject))


# --- requests --------------------------------------------------------------------------------


def _clients(world: World, only: str | None = None) -> dict[str, tuple[Client, APIClient]]:
    clients: dict[str, tuple[Client, APIClient]] = {ANONYMOUS: (Client(), APIClient())}
    for actor, user in world.users.items():
        if only is not None and str(actor) != only:
            continue
        page, api = Client(), APIClient()
        page.force_login(user)
        api.force_authenticate(user)
        clients[str(actor)] = (page, api)
    return clients


def send(clients: dict[str, tuple[Client, APIClient]], actor: str, method: str, url: str) -> Any:
    page, api = clients[actor]
    if url.startswith("/api/v1/"):
        call = getattr(api, method.lower())
        return call(url, {}, format="json") if method in UNSAFE else call(url)
    if method in UNSAFE:
        return page.generic(method, url, b"", content_type="application/x-www-form-urlencoded")
    return page.get(url)


@pytest.fixture
def world(sandbox_http, monkeypatch) -> World:
    # Pages that call the sandbox in-process (lag, connect) must not close the test's connection.
    monkeypatch.setattr(connection, "close_if_unusable_or_obsolete", lambda: None)
    return World(sandbox_http)


def test_authorization_matrix(world):
    login_url = reverse("core:login")
    clients = _clients(world)
    verdicts = Verdicts()
    started = time.monotonic()
    spent: dict[str, float] = {}

    def ask(route: Route, method: str, actor: str, url: str, one_off: bool = False) -> Any:
        verdicts.requests += 1
        t0 = time.monotonic()
        try:
            return send(_clients(world, actor) if one_off else clients, actor, method, url)
        except Exception as exc:  # a crash is a violation, reported with the rest
            verdicts.add(route.key, method, actor, "an answer", f"{type(exc).__name__}: {exc}")
            return None
        finally:
            spent[route.key] = spent.get(route.key, 0.0) + time.monotonic() - t0
            category = entry_for(route).category
            spent[category] = spent.get(category, 0.0) + time.monotonic() - t0

    for route in all_routes():
        entry = entry_for(route)
        if entry is None:
            continue  # test_every_route_has_an_entry_and_every_entry_a_route reports it
        api = route.pattern.startswith("api/")
        if entry.category == PROJECT:
            for method in entry.methods:
                for actor in ACTORS:
                    kwargs, subject = world.kwargs(route, entry)
                    url = reverse(route.name, kwargs=kwargs)
                    expected = expectation(entry, method, str(actor))
                    before = (
                        fingerprint(world, subject)
                        if method in UNSAFE and expected != "allowed"
                        else None
                    )
                    response = ask(route, method, str(actor), url)
                    if response is None:
                        continue
                    location = response.get("Location", "")
                    if not judge(
                        expected, response.status_code, location, api=api, login_url=login_url
                    ):
                        verdicts.add(route.key, method, actor, expected, describe(response))
                    if before is not None and fingerprint(world, subject) != before:
                        verdicts.add(route.key, method, actor, "no change", "data changed")
            # Another project's object named under this project's id: 404, even to its admin.
            for method in entry.methods:
                foreign = world.foreign_kwargs(route, entry)
                if foreign is None:
                    break
                kwargs, subject = foreign
                before = fingerprint(world, subject) if method in UNSAFE else None
                response = ask(route, method, Role.ADMIN, reverse(route.name, kwargs=kwargs))
                if response is not None and response.status_code != 404:
                    actor = "admin (other project's object)"
                    verdicts.add(route.key, method, actor, "404", describe(response))
                if before is not None and fingerprint(world, subject) != before:
                    verdicts.add(route.key, method, "admin", "no change", "data changed")
            # A method the entry does not list must be refused (405) even to an admin.
            other = "POST" if "POST" not in entry.methods else "GET"
            if not api and other not in entry.methods:
                kwargs, _ = world.kwargs(route, entry)
                response = ask(route, other, Role.ADMIN, reverse(route.name, kwargs=kwargs))
                if response is not None and response.status_code != 405:
                    verdicts.add(route.key, other, "admin", "405", describe(response))
        elif entry.category in (LOGIN, PUBLIC):
            path = sample_path(route, {})
            for method in entry.methods:
                # Public routes answer everyone alike: asking as anonymous is enough.
                for actor in (ANONYMOUS,) if entry.category == PUBLIC else (ANONYMOUS, NON_MEMBER):
                    response = ask(route, method, actor, path, one_off=True)
                    if response is None:
                        continue
                    status, location = response.status_code, response.get("Location", "")
                    if path.startswith("/api/"):
                        refused = status in (401, 403)
                    else:
                        refused = status == 302 and location.startswith(login_url)
                    if status >= 500 and not (route.key == "core:healthz" and status == 503):
                        verdicts.add(route.key, method, actor, "no crash", describe(response))
                    elif entry.category == LOGIN and actor == ANONYMOUS:
                        if not refused:
                            verdicts.add(route.key, method, actor, "login", describe(response))
                    elif entry.category == LOGIN and status in (401, 403, 404, 405):
                        verdicts.add(route.key, method, actor, "allowed", describe(response))
                    elif entry.category == PUBLIC and method == "GET" and refused:
                        verdicts.add(route.key, method, actor, "public", describe(response))
        elif entry.category == RECEIVER:
            path = sample_path(route, {"token": world.receiver.token})
            before = fingerprint(world, world.receiver)
            response = ask(route, "POST", ANONYMOUS, path)
            if response is not None and not 400 <= response.status_code < 500:
                verdicts.add(route.key, "POST", ANONYMOUS, "4xx (unsigned)", describe(response))
            if fingerprint(world, world.receiver) != before:
                verdicts.add(route.key, "POST", ANONYMOUS, "no change", "data changed")
        elif entry.category == PLATFORM:
            values = {
                "slug": world.rehearsal.target.slug
                if "/stores/" in route.pattern
                else world.rehearsal.source.slug,
                "store_hash": world.rehearsal.target_credentials["store_hash"],
                "rest": "nope",
                "path": "about",
            }
            path = sample_path(route, values)
            for method in entry.methods:
                response = ask(route, method, ANONYMOUS, path)
                if response is None:
                    continue
                status = response.status_code
                if status >= 500:
                    verdicts.add(route.key, method, ANONYMOUS, "no crash", describe(response))
                # Without the platform's keys nothing is written, and nothing is read either
                # but WordPress's public reads (wp/v2 posts, tags … answer anyone, as there).
                elif status < 300 and (method in UNSAFE or not route.pattern.startswith(WP)):
                    verdicts.add(route.key, method, ANONYMOUS, "401 (no keys)", describe(response))
        elif entry.category == STAFF:
            values = {"app_label": "auth", "url": "nope/"}
            path = sample_path(route, values)
            for actor in (ANONYMOUS, Role.ADMIN):
                response = ask(route, "GET", str(actor), path)
                if response is None:
                    continue
                location = response.get("Location", "")
                to_login = response.status_code == 302 and "/admin/login/" in location
                # The catch-all answers 404 to a non-staff user without revealing a thing.
                catch_all = route.pattern.endswith("(?P<url>.*)$") and response.status_code == 404
                if not (to_login or catch_all):
                    verdicts.add(route.key, "GET", actor, "admin login", describe(response))

    elapsed = time.monotonic() - started
    slowest = sorted(spent.items(), key=lambda item: -item[1])[:12]
    print(f"\nauthorization matrix: {verdicts.requests} requests in {elapsed:.1f}s; slowest:")
    print("\n".join(f"  {seconds:5.2f}s {key}" for key, seconds in slowest))
    assert not verdicts.violations, verdicts.report()


# --- escalation through a new project ------------------------------------------------------------


@pytest.mark.parametrize("via", ["page", "api"])
@pytest.mark.parametrize("role", [Role.MERCHANDISER, Role.PROJECT_MANAGER])
def test_a_member_cannot_borrow_stores_into_a_project_of_their_own(project, via, role):
    """Whoever creates a project becomes its admin, and a project's admin may edit its stores:
    a member who can merely see the stores must not make a project around them."""
    user = MembershipFactory(project=project, role=role).user
    data = {
        "name": "Mine now",
        "source_store": project.source_store.pk,
        "target_store": project.target_store.pk,
    }
    if via == "page":
        client = Client()
        client.force_login(user)
        response = client.post(reverse("projects:list"), data)
    else:
        client = APIClient()
        client.force_authenticate(user)
        response = client.post(reverse("api:project-list"), data, format="json")
    assert response.status_code == 400, describe(response)
    assert not Project.objects.filter(name="Mine now").exists()
    store_edit = Client()
    store_edit.force_login(user)
    assert store_edit.get(reverse("stores:edit", args=[project.source_store.pk])).status_code == 403
