"""Fault injection for sandbox stores: latency, 5xx answers, timeouts and dropped connections.

Every request under /sandbox/<slug>/ passes SandboxFaultMiddleware, for both flavors, before
the platform views (which keep their own auth and rate limit). Per store (SandboxStore fields,
edited through apps/sandbox/fault_settings.py):

- latency_ms: slept before anything else, on every request.
- error_rate: answered 500, 502 or 503 in the platform's error shape; the view does not run.
- timeout_rate: the view does not run; the request hangs timeout_hang_ms and answers 504 (a
  client with a shorter timeout sees a timeout). In-process the wrapper raises ReadTimeout.
- drop_rate (writes only: POST/PUT/PATCH/DELETE): the view runs and commits, then the client
  gets no response at all (apps/sandbox/wsgi.py closes the connection).

Draws are reproducible: each faulty request takes the next number n of the store's
`fault_draws` counter (one UPDATE, so threads and processes never share a number), and its fate
is a pure function of (fault_seed, n) and the rates. Saving fault settings restarts the counter,
so the same settings replay the same sequence of faults, request by request, in arrival order.
The rates are checked in a fixed order with independent draws: error first, then timeout (of
the requests not failed), then drop (of the writes neither failed nor timed out).
"""

from __future__ import annotations

import logging
import random
import re
import time
from collections.abc import Callable
from dataclasses import dataclass

from django.db import transaction
from django.db.models import F
from django.http import HttpRequest, HttpResponse, JsonResponse

from apps.sandbox import wsgi
from apps.sandbox.bigcommerce.errors import error_response
from apps.sandbox.models import Flavor, SandboxStore
from apps.sandbox.woocommerce.errors import WCError

logger = logging.getLogger(__name__)

SANDBOX_PATH = re.compile(r"^/sandbox/(?P<slug>[-a-zA-Z0-9_]+)/")
WRITE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})
ERROR = "error"
ERROR_STATUSES = (500, 502, 503)

# status → (WooCommerce code, message), BigCommerce title. WordPress's fatal-error handler
# answers "internal_server_error"; the gateway codes are what a host in front of it reports.
_WOO_ERRORS = {
    500: ("internal_server_error", "There has been a critical error on this website."),
    502: ("bad_gateway", "Bad Gateway: the upstream server sent an invalid response."),
    503: ("service_unavailable", "Service Unavailable: the server is temporarily busy."),
    504: ("gateway_timeout", "Gateway Timeout: the upstream server did not answer in time."),
}
_BIG_TITLES = {
    500: "Internal Server Error",
    502: "Bad Gateway",
    503: "Service Unavailable",
    504: "Gateway Timeout",
}

# Patched by tests that must not really wait for a server-side hang.
sleep: Callable[[float], None] = time.sleep


@dataclass(frozen=True)
class Faults:
    """A store's fault settings, read once per request."""

    pk: int
    flavor: str
    latency_ms: int = 0
    error_rate: float = 0.0
    timeout_rate: float = 0.0
    timeout_hang_ms: int = 35000
    drop_rate: float = 0.0
    fault_seed: int = 0

    @classmethod
    def of(cls, store: SandboxStore) -> Faults:
        return cls(
            pk=store.pk,
            flavor=store.flavor,
            latency_ms=store.latency_ms,
            error_rate=store.error_rate,
            timeout_rate=store.timeout_rate,
            timeout_hang_ms=store.timeout_hang_ms,
            drop_rate=store.drop_rate,
            fault_seed=store.fault_seed,
        )

    @property
    def draws(self) -> bool:
        """Whether any request can fail: if not, no draw is spent (and nothing is written)."""
        return self.error_rate > 0 or self.timeout_rate > 0 or self.drop_rate > 0


@dataclass(frozen=True)
class Decision:
    fault: str | None  # ERROR, wsgi.TIMEOUT, wsgi.DROP or None
    status: int = 0


def decide(faults: Faults, draw: int, *, write: bool) -> Decision:
    """The fate of the request that took draw number `draw` (pure: reproducible anywhere)."""
    # A string seed is hashed with SHA-512 by random.seed: the same in every process, unlike
    # hash(). Four draws every time, so one rate's value never shifts another's sequence.
    rng = random.Random(f"{faults.fault_seed}:{draw}")
    error, timeout, drop, pick = rng.random(), rng.random(), rng.random(), rng.random()
    if error < faults.error_rate:
        return Decision(ERROR, ERROR_STATUSES[int(pick * len(ERROR_STATUSES))])
    if timeout < faults.timeout_rate:
        return Decision(wsgi.TIMEOUT, 504)
    if write and drop < faults.drop_rate:
        return Decision(wsgi.DROP)
    return Decision(None)


def next_draw(store_pk: int) -> int | None:
    """Take the store's next draw number (None if the store is gone)."""
    rows = SandboxStore.objects.filter(pk=store_pk)
    # UPDATE then read in one transaction: the row stays locked (PostgreSQL) or the database
    # write-locked (SQLite, IMMEDIATE) until commit, so no two requests read the same number.
    with transaction.atomic():
        if not rows.update(fault_draws=F("fault_draws") + 1):
            return None
        return rows.values_list("fault_draws", flat=True).get()


def fault_response(flavor: str, status: int) -> JsonResponse:
    """A 5xx in the platform's own error shape, as its clients parse it."""
    if flavor == Flavor.WOOCOMMERCE:
        code, message = _WOO_ERRORS[status]
        response = WCError(code, message, status).response()
    else:
        response = error_response(status, _BIG_TITLES[status])
    # An injected fault is logged once, at INFO, by the middleware; without this Django would
    # log each one as an ERROR ("Internal Server Error: …") and bury real errors.
    response._has_been_logged = True  # type: ignore[attr-defined]
    return response


def request_store(request: HttpRequest) -> SandboxStore | None:
    """The SandboxStore the middleware loaded for this request (None outside /sandbox/<slug>/
    or for an unknown slug). Views may reuse it instead of querying the same row again."""
    return getattr(request, "sandbox_store", None)


class SandboxFaultMiddleware:
    """Applies a sandbox store's faults to the requests addressed to it (and no others)."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response
        # runserver and the live test server both load middleware before serving; installing
        # here covers them without a step anyone must remember.
        wsgi.install_dev_server_support()

    def __call__(self, request: HttpRequest) -> HttpResponse:
        match = SANDBOX_PATH.match(request.path_info)
        if match is None:
            return self.get_response(request)
        store = SandboxStore.objects.filter(slug=match["slug"]).first()
        request.sandbox_store = store  # type: ignore[attr-defined]
        if store is None:
            return self.get_response(request)  # the flavor's own "no such store" answer
        faults = Faults.of(store)
        if faults.latency_ms:
            sleep(faults.latency_ms / 1000)
        if not faults.draws:
            return self.get_response(request)
        draw = next_draw(faults.pk)
        write = request.method in WRITE_METHODS
        decision = decide(faults, draw, write=write) if draw is not None else Decision(None)
        if decision.fault is None:
            return self.get_response(request)
        logger.info(
            "sandbox %s: injected %s (%s) on %s %s, draw %s",
            store.slug,
            decision.fault,
            decision.status or "no answer",
            request.method,
            request.path_info,
            draw,
        )
        mode = request.META.get(wsgi.MODE_KEY)

        if decision.fault == ERROR:
            return fault_response(faults.flavor, decision.status)
        if decision.fault == wsgi.TIMEOUT:
            response = fault_response(faults.flavor, 504)
            if mode == wsgi.IN_PROCESS:
                return _mark(response, wsgi.TIMEOUT)
            sleep(faults.timeout_hang_ms / 1000)
            return response
        response = self.get_response(request)  # a drop: performed and committed
        if mode is not None:
            return _mark(response, wsgi.DROP)
        # No wrapper (Django's test Client, or a server not running migrator.wsgi): the closest
        # answer is what a proxy says when its upstream drops the line. The view's response is
        # discarded unclosed: closing it here would fire request_finished mid-request.
        logger.warning(
            "sandbox %s: cannot drop the connection outside SandboxFaultsApp; answering 502",
            store.slug,
        )
        return fault_response(faults.flavor, 502)


def _mark(response: HttpResponse, fault: str) -> HttpResponse:
    response[wsgi.FAULT_HEADER] = fault
    return response


def describe(faults: Faults | SandboxStore) -> str:
    """One line for the dashboard: what a store's settings do to requests."""
    parts = []
    if faults.latency_ms:
        parts.append(f"+{faults.latency_ms} ms")
    for label, rate in (
        ("5xx", faults.error_rate),
        ("timeouts", faults.timeout_rate),
        ("dropped writes", faults.drop_rate),
    ):
        if rate:
            parts.append(f"{rate * 100:g}% {label}")
    return ", ".join(parts) or "no faults"
