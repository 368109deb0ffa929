"""The authorization matrix's machinery: every URL pattern the server answers, how to build a
URL for one, who is allowed what, and how to judge one answer.

The table itself (one entry per route) lives in tests/core/test_authorization_matrix.py;
this module only knows the shapes of its entries."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from django.urls import URLPattern, URLResolver, get_resolver, reverse

from apps.core.roles import Role, role_allows

# --- the routes ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Route:
    """One URL pattern: its key in the table is its name ("namespace:name") or, unnamed, its
    full pattern as Django joined it (e.g. "sandbox/<slug:slug>/wp-json/wc/v3/^orders/?$")."""

    key: str
    name: str | None
    pattern: str
    callback: Any

    @property
    def view_class(self) -> Any:
        return getattr(self.callback, "cls", None) or getattr(self.callback, "view_class", None)

    @property
    def kwarg_names(self) -> list[str]:
        return re.findall(r"<(?:\w+:)?(\w+)>", self.pattern)


def _walk(patterns: list[Any], prefix: str = "", namespace: str = "") -> list[Route]:
    routes: list[Route] = []
    for entry in patterns:
        if isinstance(entry, URLResolver):
            inner = f"{namespace}{entry.namespace}:" if entry.namespace else namespace
            routes += _walk(entry.url_patterns, prefix + str(entry.pattern), inner)
        elif isinstance(entry, URLPattern):
            pattern = prefix + str(entry.pattern)
            name = f"{namespace}{entry.name}" if entry.name else None
            routes.append(Route(name or pattern, name, pattern, entry.callback))
    return routes


def all_routes() -> list[Route]:
    """Every URL pattern of the project, recursively through every include()."""
    return _walk(get_resolver().url_patterns)


# Values for the kwargs of routes whose objects are not the project's (admin, sandbox …).
_REGEX_GROUP = re.compile(r"\(\?P<(\w+)>(?:[^()]|\([^()]*\))*\)")


def sample_path(route: Route, values: dict[str, Any]) -> str:
    """A concrete path for the route, its kwargs taken from `values` ("1" when absent)."""
    if route.name and not route.name.startswith("admin:"):
        kwargs = {name: values.get(name, 1) for name in route.kwarg_names}
        regex_names = re.findall(r"\(\?P<(\w+)>", route.pattern)
        kwargs.update({name: values.get(name, "1") for name in regex_names})
        return reverse(route.name, kwargs=kwargs or None)
    path = re.sub(r"<(?:\w+:)?(\w+)>", lambda m: str(values.get(m.group(1), "1")), route.pattern)
    path = _REGEX_GROUP.sub(lambda m: str(values.get(m.group(1), "1")), path)
    path = path.replace("/?$", "").replace("^", "").replace("$", "")
    return "/" + path


# --- the table's entries ---------------------------------------------------------------------

PROJECT = "project"  # a member's role decides: capability per method
LOGIN = "login"  # any logged-in user; what they see is filtered to their own projects
PUBLIC = "public"  # anyone (login page, health check, the root redirect)
RECEIVER = "receiver"  # called by a store, authenticated by the endpoint's token and signature
PLATFORM = "platform"  # the sandbox's emulated platform APIs: the platform's own keys
STAFF = "staff"  # Django admin: is_staff, decided by the AdminSite


@dataclass(frozen=True)
class Entry:
    category: str
    # HTTP method → the capability it needs (PROJECT), or None (the other categories).
    methods: dict[str, str | None]
    # PROJECT: what `pk` (or the route's own object id) names: project, run, store, conflict …
    obj: str = "project"
    # Destructive routes get a new object per request, so one answer cannot spoil the next.
    fresh: bool = False
    note: str = ""


def project(obj: str = "project", *, fresh: bool = False, **methods: str) -> Entry:
    return Entry(PROJECT, dict(methods), obj=obj, fresh=fresh)


def login(*methods: str) -> Entry:
    return Entry(LOGIN, dict.fromkeys(methods))


def public(*methods: str, note: str = "") -> Entry:
    return Entry(PUBLIC, dict.fromkeys(methods), note=note)


def receiver(*methods: str) -> Entry:
    return Entry(RECEIVER, dict.fromkeys(methods))


PLATFORM_ENTRY = Entry(PLATFORM, {"GET": None, "POST": None})
STAFF_ENTRY = Entry(STAFF, {"GET": None})


# --- who asks, and what they should get --------------------------------------------------------

ANONYMOUS = "anonymous"
NON_MEMBER = "non-member"
ACTORS = (ANONYMOUS, NON_MEMBER, Role.MERCHANDISER, Role.PROJECT_MANAGER, Role.ADMIN)

UNSAFE = {"POST", "PUT", "PATCH", "DELETE"}


@dataclass
class Violation:
    route: str
    method: str
    actor: str
    expected: str
    got: str

    def __str__(self) -> str:
        return (
            f"{self.route:45} {self.method:6} {self.actor:16} "
            f"expected {self.expected}; got {self.got}"
        )


@dataclass
class Verdicts:
    requests: int = 0
    violations: list[Violation] = field(default_factory=list)

    def add(self, route: str, method: str, actor: str, expected: str, got: str) -> None:
        self.violations.append(Violation(route, method, str(actor), expected, got))

    def report(self) -> str:
        lines = [str(v) for v in self.violations]
        return (
            f"{len(self.violations)} authorization violation(s) in {self.requests} requests:\n"
            + ("\n".join(lines))
        )


def expectation(entry: Entry, method: str, actor: str) -> str:
    """What `actor` must get for `method` on a PROJECT route: login / 404 / 403 / allowed."""
    if actor == ANONYMOUS:
        return "login"
    if actor == NON_MEMBER:
        return "404"
    capability = entry.methods[method]
    return "allowed" if role_allows(actor, capability or "") else "403"


def judge(expected: str, status: int, location: str, *, api: bool, login_url: str) -> bool:
    """Whether an answer meets the expectation."""
    if expected == "login":
        if api:
            return status in (401, 403)
        return status == 302 and location.startswith(login_url)
    if expected == "404":
        return status == 404
    if expected == "403":
        return status == 403
    if expected == "allowed":
        # Any answer but a refusal or a crash: validation errors (400, 409, 413 …) are fine.
        if status in (401, 403, 404, 405) or status >= 500:
            return False
        return not (status == 302 and location.startswith(login_url))
    raise AssertionError(f"unknown expectation {expected}")


def describe(response: Any) -> str:
    status = response.status_code
    where = response.get("Location", "") if hasattr(response, "get") else ""
    return f"{status} → {where}" if where else str(status)
