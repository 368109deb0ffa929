"""Web security of the dashboard (issue 6): CSRF on every form and unsafe request, secure
cookies and headers in production settings, and user- or source-controlled text rendered
escaped on every page.

The routes come from the authorization matrix (tests/core/test_authorization_matrix.py), and
its World builds the real objects every project-scoped route needs.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from html.parser import HTMLParser
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import pytest
from django.conf import settings
from django.db import connection
from django.test import Client
from django.urls import reverse
from django.utils.html import escape

from apps.conflicts.models import Conflict
from apps.core.crypto import encrypt_json
from apps.core.roles import Role
from apps.golive.models import Check, CutoverUnit, Gate
from apps.golive.models import WebhookEndpoint as NotificationEndpoint
from apps.projects.models import Membership, Project
from apps.reconciliation.models import ImportantRecord, ReconciliationItem
from apps.redirects.models import Redirect, RedirectJob
from apps.runs.models import ChangeEvent, RecordOutcome, Schedule
from apps.stores.models import Store
from apps.webhooks.models import EndpointStatus
from apps.webhooks.models import WebhookEndpoint as ReceiverEndpoint
from tests.core.test_authorization_matrix import World, entry_for, fingerprint
from tests.support.authz import LOGIN, PROJECT, PUBLIC, Route, all_routes, sample_path

BASE_DIR = Path(settings.BASE_DIR)


@pytest.fixture
def world(sandbox_http, monkeypatch) -> World:
    # Pages that call the sandbox in-process (lag, connect) must not close the test's connection.
    monkeypatch.setattr(connection, "close_if_unusable_or_obsolete", lambda: None)
    return World(sandbox_http)


def _dashboard(route: Route) -> bool:
    """A page or form of the dashboard: not the API, the sandbox, a receiver or the admin."""
    entry = entry_for(route)
    return (
        entry is not None
        and entry.category in (PROJECT, LOGIN, PUBLIC)
        and not route.pattern.startswith(("api/", "sandbox/", "admin/"))
        and route.name is not None
        and route.name not in ("api-schema", "api-docs")
    )


def dashboard_routes(method: str) -> list[Route]:
    return [r for r in all_routes() if _dashboard(r) and method in entry_for(r).methods]


def url_for(world: World, route: Route) -> tuple[str, Any]:
    entry = entry_for(route)
    if entry.category == PROJECT:
        kwargs, subject = world.kwargs(route, entry)
        return reverse(route.name, kwargs=kwargs), subject
    return sample_path(route, {}), world.project


def admin_client(world: World, *, enforce_csrf: bool = False) -> Client:
    client = Client(enforce_csrf_checks=enforce_csrf)
    client.force_login(world.admin)
    return client


# --- 1. CSRF ---------------------------------------------------------------------------------


def test_every_dashboard_post_without_a_csrf_token_is_refused_and_changes_nothing(world):
    routes = dashboard_routes("POST")
    assert len(routes) >= 30, [r.key for r in routes]
    client = admin_client(world, enforce_csrf=True)
    # The victim's browser holds a CSRF cookie (any page sets it): only the token is missing.
    client.get(reverse("projects:list"))
    assert client.cookies.get(settings.CSRF_COOKIE_NAME), "no CSRF cookie set by a page"
    problems = []
    for route in routes:
        url, subject = url_for(world, route)
        before = fingerprint(world, subject)
        # A form's worth of data, so only the missing token can be the reason for a refusal.
        response = client.post(url, {"name": "x", "confirm": "1", "note": "x"})
        # Refused by the CSRF check itself (an admin has every capability).
        if response.status_code != 403 or b"CSRF verification failed" not in response.content:
            problems.append(f"{route.key}: {response.status_code} (expected the CSRF 403)")
        if fingerprint(world, subject) != before:
            problems.append(f"{route.key}: data changed")
    print(f"\nCSRF: {len(routes)} dashboard POST routes refused without a token")
    assert not problems, "\n".join(problems)


class _Forms(HTMLParser):
    """Every <form method="post">, whether it holds a csrfmiddlewaretoken input."""

    def __init__(self) -> None:
        super().__init__()
        self.forms: list[dict[str, Any]] = []
        self._open: dict[str, Any] | None = None
        self.hx_unsafe = 0  # elements posting through htmx (hx-post …), not through a form
        self.hx_csrf_header = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = dict(attrs)
        if any(f"hx-{m}" in a for m in ("post", "put", "patch", "delete")):
            self.hx_unsafe += 1
        if "X-CSRFToken" in (a.get("hx-headers") or ""):
            self.hx_csrf_header = True
        if tag == "form" and (a.get("method") or "get").lower() == "post":
            self._open = {"action": a.get("action", ""), "token": False}
            self.forms.append(self._open)
        elif tag == "form":
            self._open = None
        elif tag == "input" and self._open is not None and a.get("name") == "csrfmiddlewaretoken":
            self._open["token"] = bool(a.get("value"))

    def handle_endtag(self, tag: str) -> None:
        if tag == "form":
            self._open = None


def test_every_post_form_on_every_dashboard_page_carries_a_csrf_token(world):
    client = admin_client(world)
    pages = forms = 0
    problems = []
    for route in dashboard_routes("GET"):
        url, _ = url_for(world, route)
        response = client.get(url)
        if not response.get("Content-Type", "").startswith("text/html"):
            continue
        if response.status_code != 200:
            continue  # redirects (the root, the login page for a logged-in user)
        pages += 1
        parser = _Forms()
        parser.feed(response.content.decode())
        forms += len(parser.forms)
        problems += [
            f"{route.key}: form → {form['action'] or url} has no csrfmiddlewaretoken"
            for form in parser.forms
            if not form["token"]
        ]
        if parser.hx_unsafe and not parser.hx_csrf_header:
            problems.append(f"{route.key}: hx-post without the X-CSRFToken hx-headers")
    print(f"\nCSRF: {forms} POST forms on {pages} dashboard pages, each with a token")
    assert pages >= 20 and forms >= 20, (pages, forms)
    assert not problems, "\n".join(problems)


@pytest.mark.parametrize(
    ("name", "method", "body"),
    [
        ("api:project-runs", "POST", {"kind": "full"}),
        ("api:important-records", "POST", {"entity": "products", "natural_key": "SKU-X"}),
        ("api:conflict-dismiss", "POST", {}),
        ("api:project-settings", "PATCH", {"name": "Renamed"}),
        ("api:schedule-detail", "DELETE", {}),
    ],
)
def test_the_api_refuses_a_session_authenticated_unsafe_request_without_csrf(
    world, name, method, body
):
    """A browser's session cookie alone must not drive the API (DRF SessionAuthentication)."""
    route = next(r for r in all_routes() if r.key == name)
    url, subject = url_for(world, route)
    client = admin_client(world, enforce_csrf=True)
    before = fingerprint(world, subject)
    response = client.generic(method, url, json.dumps(body), content_type="application/json")
    assert response.status_code == 403, response.content
    assert b"CSRF" in response.content
    assert fingerprint(world, subject) == before


# --- 2. production settings ------------------------------------------------------------------

_PROBE = """
import json, os
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "migrator.settings")
from django.conf import settings
names = [
    "DEBUG", "SESSION_COOKIE_SECURE", "CSRF_COOKIE_SECURE", "SESSION_COOKIE_HTTPONLY",
    "SECURE_CONTENT_TYPE_NOSNIFF", "X_FRAME_OPTIONS", "SECURE_PROXY_SSL_HEADER",
    "SECURE_HSTS_SECONDS", "SESSION_COOKIE_SAMESITE", "CSRF_COOKIE_SAMESITE",
    "SECURE_REFERRER_POLICY", "SECURE_CROSS_ORIGIN_OPENER_POLICY", "ALLOWED_HOSTS",
    "MIDDLEWARE",
]
print(json.dumps({n: getattr(settings, n, None) for n in names}))
"""


def _production_env(tmp_path: Path, **overrides: str | None) -> dict[str, str]:
    env = {
        k: v for k, v in os.environ.items() if not k.startswith(("DJANGO_", "MIGRATOR_", "PYTEST"))
    }
    env.update(
        MIGRATOR_ENV="production",
        MIGRATOR_VAR_DIR=str(tmp_path / "var"),
        DJANGO_SECRET_KEY="prod-" + "s" * 60,
        MIGRATOR_FERNET_KEYS="ZmDfcTF7_60GrrY167zsiPd67pEvs0aGOv2oasOM1Pg=",
        DJANGO_ALLOWED_HOSTS="migrator.example.com",
    )
    for key, value in overrides.items():
        if value is None:
            env.pop(key, None)
        else:
            env[key] = value
    return env


def _probe(env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", _PROBE],
        cwd=BASE_DIR,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def test_production_settings_are_secure(tmp_path):
    done = _probe(_production_env(tmp_path))
    assert done.returncode == 0, done.stderr
    s = json.loads(done.stdout.strip().splitlines()[-1])
    assert s["DEBUG"] is False
    assert s["SESSION_COOKIE_SECURE"] is True
    assert s["CSRF_COOKIE_SECURE"] is True
    assert s["SESSION_COOKIE_HTTPONLY"] is True
    assert s["SECURE_CONTENT_TYPE_NOSNIFF"] is True
    assert s["X_FRAME_OPTIONS"] == "DENY"
    assert s["SECURE_PROXY_SSL_HEADER"] == ["HTTP_X_FORWARDED_PROTO", "https"]
    assert s["SECURE_HSTS_SECONDS"] >= 3600
    assert s["SESSION_COOKIE_SAMESITE"] == "Lax"
    assert s["CSRF_COOKIE_SAMESITE"] == "Lax"
    assert s["SECURE_REFERRER_POLICY"] == "same-origin"
    assert s["SECURE_CROSS_ORIGIN_OPENER_POLICY"] == "same-origin"
    assert s["ALLOWED_HOSTS"] == ["migrator.example.com"]
    middleware = s["MIDDLEWARE"]
    for name in (
        "django.middleware.security.SecurityMiddleware",
        "django.middleware.csrf.CsrfViewMiddleware",
        "django.middleware.clickjacking.XFrameOptionsMiddleware",
    ):
        assert name in middleware


def test_development_settings_keep_cookies_usable_over_http(tmp_path):
    done = _probe(_production_env(tmp_path, MIGRATOR_ENV="development"))
    assert done.returncode == 0, done.stderr
    s = json.loads(done.stdout.strip().splitlines()[-1])
    assert s["SESSION_COOKIE_SECURE"] is False
    assert s["CSRF_COOKIE_SECURE"] is False
    assert s["SECURE_PROXY_SSL_HEADER"] is None


# What `check --deploy` may still say, on purpose: HSTS on subdomains and preloading are the
# operator's call for their domain, and the HTTP→HTTPS redirect is the proxy's job (the
# docker-compose deployment serves plain HTTP on localhost, where a redirect would lock it out).
DEPLOY_WARNINGS_ACCEPTED = {"security.W005", "security.W008", "security.W021"}


def test_the_deploy_check_finds_nothing_but_the_accepted_warnings(tmp_path):
    done = subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy"],
        cwd=BASE_DIR,
        env=_production_env(tmp_path),
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    output = done.stdout + done.stderr
    assert done.returncode == 0, output
    assert "ERRORS:" not in output
    found = set(re.findall(r"\((\w+\.[WE]\d+)\)", output))
    assert found <= DEPLOY_WARNINGS_ACCEPTED, sorted(found - DEPLOY_WARNINGS_ACCEPTED)


@pytest.mark.parametrize(
    "missing", ["DJANGO_SECRET_KEY", "MIGRATOR_FERNET_KEYS", "DJANGO_ALLOWED_HOSTS"]
)
def test_production_refuses_to_start_without_its_secrets_or_hosts(tmp_path, missing):
    done = _probe(_production_env(tmp_path, **{missing: None}))
    assert done.returncode != 0
    assert "ImproperlyConfigured" in done.stderr
    assert missing in done.stderr
    # No development secret was written in its place.
    assert not list((tmp_path / "var").glob("dev-*"))


# --- 3. escaping ---------------------------------------------------------------------------

ATTR = '"><img src=x onerror=alert(1)>'
RAW = ("<script>alert(", "<img src=x", "onerror=alert(1)>")


def payload(tag: str) -> str:
    """A script and an attribute breaker, tagged with the field they go into (at most 64
    characters for a tag of 6)."""
    return f"<script>alert('{tag}')</script>{ATTR}"


def shown(tag: str) -> str:
    """How the payload must reach the page: escaped."""
    return escape(payload(tag))


def _poison(world: World) -> None:
    """A payload in every user- or source-controlled text the dashboard shows."""
    p = payload
    Project.objects.filter(pk=world.project.pk).update(name=p("proj"))
    Store.objects.filter(pk=world.store.pk).update(name=p("store"))
    member = Membership.objects.filter(project=world.project, role=Role.MERCHANDISER).first()
    type(member.user).objects.filter(pk=member.user_id).update(username=p("user"))
    RecordOutcome.objects.filter(run=world.run).update(natural_key=p("okey"), reason=p("reason"))
    for conflict in Conflict.objects.filter(project=world.project):
        conflict.natural_key = p("ckey")
        for side in ("base", "source", "source_resolved", "target", "merged"):
            if getattr(conflict, side):
                getattr(conflict, side)["name"] = p(side[:6])
        conflict.save()
    ReconciliationItem.objects.create(
        report=world.report,
        kind="mismatch",
        entity="products",
        source_id="1",
        target_id="2",
        natural_key=p("rkey"),
        diffs=[{"field": p("dfield"), "source": p("dsrc"), "target": p("dtgt")}],
        reason=p("rreas"),
    )
    ReconciliationItem.objects.create(
        report=world.report, kind="missing", entity="products", natural_key=p("rmiss")
    )
    Redirect.objects.create(
        project=world.project,
        old_path="/" + p("old"),
        new_url="https://new.example.com/" + p("new"),
        origin="csv",
        problem="chain",
        problem_detail=p("prob"),
        push_error=p("push"),
    )
    RedirectJob.objects.filter(pk=world.redirect_job.pk).update(
        error=p("jerr"),
        filename=p("jfile"),
        errors=[{"row": 2, "path": p("jpath"), "value": p("jval"), "reason": p("jreas")}],
    )
    Schedule.objects.filter(project=world.project).update(name=p("sched"))
    ImportantRecord.objects.filter(project=world.project).update(
        natural_key=p("ikey"), note=p("inote")
    )
    Gate.objects.filter(pk=world.gate.pk).update(name=p("gate"), description=p("gdesc"))
    Check.objects.filter(gate__plan=world.plan).update(evidence={"summary": p("evid")})
    CutoverUnit.objects.filter(pk=world.unit.pk).update(name=p("unit"))
    NotificationEndpoint.objects.filter(project=world.project).update(
        url="https://hooks.example.com/?q=" + p("hook")
    )
    ReceiverEndpoint.objects.create(
        project=world.project,
        platform="woocommerce",
        token="web-security-token-0123456789",
        secret_encrypted=encrypt_json({"secret": "whsec"}),
        status=EndpointStatus.FAILED,
        error=p("werr"),
    )
    # Webhook event ids: the dashboard shows only their count, but poison them anyway.
    ChangeEvent.objects.create(
        project=world.project,
        entity="products",
        source_id=p("esrc"),
        action="updated",
        delivery_id=p("edeliv"),
    )


TAGS = (
    "proj",
    "store",
    "user",
    "okey",
    "reason",
    "ckey",
    "base",
    "source",
    "target",
    "merged",
    "rkey",
    "dfield",
    "dsrc",
    "dtgt",
    "rreas",
    "rmiss",
    "old",
    "new",
    "prob",
    "push",
    "jerr",
    "jfile",
    "jpath",
    "jval",
    "jreas",
    "sched",
    "ikey",
    "inote",
    "gate",
    "gdesc",
    "evid",
    "unit",
    "hook",
    "esrc",
    "edeliv",
    "werr",
)

# Pages and the poisoned fields they show: each must show its payloads, escaped, so the test
# cannot pass by a page showing nothing.
MUST_SHOW: dict[str, set[str]] = {
    "projects:list": {"proj", "store"},
    "projects:detail": {"proj", "store", "user", "sched"},
    "runs:detail": {"okey", "reason"},
    "stores:edit": {"store"},
    "conflicts:queue": {"ckey"},
    "conflicts:detail": {"ckey", "base", "source", "target"},
    "webhooks:project": {"werr"},
    "reconciliation:report": {"rkey", "rmiss", "rreas", "dfield", "dsrc", "dtgt"},
    "reconciliation:important": {"ikey", "inote"},
    "redirects:dashboard": {"old", "new", "prob", "push"},
    "redirects:jobs": {"jerr", "jfile", "jpath", "jval", "jreas"},
    "golive:plan": {"gate", "gdesc", "unit"},
    "golive:notifications": {"hook"},
}


def test_script_payloads_render_escaped_on_every_dashboard_page(world):
    _poison(world)
    client = admin_client(world)
    problems, seen, pages = [], {}, 0
    for route in dashboard_routes("GET"):
        url, _ = url_for(world, route)
        response = client.get(url)
        if not response.get("Content-Type", "").startswith("text/html"):
            continue
        pages += 1
        body = response.content.decode()
        problems += [f"{route.key}: renders {bad!r} raw" for bad in RAW if bad in body]
        seen[route.key] = {tag for tag in TAGS if shown(tag) in body}
        if response.status_code >= 500:
            problems.append(f"{route.key}: {response.status_code}")
    print(f"\nXSS: {pages} dashboard pages; escaped payloads shown:")
    print("\n".join(f"  {k}: {sorted(v)}" for k, v in seen.items()))
    print("  never shown:", sorted(set(TAGS) - set().union(*seen.values())))
    assert pages >= 20, pages
    missing = {
        page: sorted(tags - seen.get(page, set()))
        for page, tags in MUST_SHOW.items()
        if tags - seen.get(page, set())
    }
    assert not missing, f"fields these pages should show (escaped) but do not: {missing}"
    assert not problems, "\n".join(problems)


# Query parameters a page might echo back (filters, search, the login page's `next`).
REFLECTED = ("q", "entity", "field", "kind", "state", "status", "problem", "search", "next")


def test_query_parameters_are_not_reflected_raw_on_any_dashboard_page(world):
    client = admin_client(world)
    query = urlencode(dict.fromkeys(REFLECTED, payload("query")))
    problems, pages = [], 0
    for route in dashboard_routes("GET"):
        url, _ = url_for(world, route)
        response = client.get(f"{url}?{query}")
        if response.status_code >= 500:
            problems.append(f"{route.key}: {response.status_code}")
        if not response.get("Content-Type", "").startswith("text/html"):
            continue
        pages += 1
        body = response.content.decode()
        problems += [f"{route.key}: echoes {bad!r} raw" for bad in RAW if bad in body]
    assert pages >= 20, pages
    # The bulk preview echoes its entity and field: escaped.
    preview = client.get(
        reverse("conflicts:bulk_preview", args=[world.project.pk]) + f"?{query}"
    ).content.decode()
    assert shown("query") in preview
    assert not problems, "\n".join(problems)
