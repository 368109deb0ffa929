"""Reading and changing a sandbox's fault settings, for the dashboard page and the API.

A sandbox belongs to whoever may manage a Store pointing at it: a Store of platform
sandbox_woocommerce / sandbox_bigcommerce whose base URL is `{server}/sandbox/<slug>`. The
callers check can_manage_store; this module finds the sandbox and makes the audited change.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from django.core.exceptions import ValidationError
from django.db import transaction

from apps.core import audit
from apps.sandbox.models import Flavor, SandboxStore
from apps.stores.models import Platform, Store


@dataclass(frozen=True)
class Limit:
    low: float
    high: float
    integer: bool
    label: str
    help_text: str


# The editable fields, in the order pages and answers show them. One table, so the form, the
# serializer and the service cannot disagree about a range.
LIMITS: dict[str, Limit] = {
    "latency_ms": Limit(0, 60_000, True, "Latency (ms)", "Added before every answer."),
    "error_rate": Limit(
        0, 1, False, "Error rate", "Share of requests answered 500/502/503, not performed."
    ),
    "timeout_rate": Limit(
        0, 1, False, "Timeout rate", "Share of requests that hang, then answer 504, not performed."
    ),
    "timeout_hang_ms": Limit(
        0, 300_000, True, "Timeout hang (ms)", "How long a timed-out request hangs."
    ),
    "drop_rate": Limit(
        0,
        1,
        False,
        "Dropped-connection rate",
        "Share of writes performed and committed, then answered with a closed connection.",
    ),
    "fault_seed": Limit(
        0, 2**31 - 1, True, "Fault seed", "The same seed and rates replay the same faults."
    ),
    "quota_requests": Limit(
        0, 1_000_000, True, "Quota (requests per window)", "BigCommerce-style; 0 = unlimited."
    ),
    "quota_window_ms": Limit(1, 3_600_000, True, "Quota window (ms)", "Length of one window."),
}
FIELDS: tuple[str, ...] = tuple(LIMITS)

SANDBOX_PLATFORMS: dict[str, str] = {
    Platform.SANDBOX_WOOCOMMERCE: Flavor.WOOCOMMERCE,
    Platform.SANDBOX_BIGCOMMERCE: Flavor.BIGCOMMERCE,
}
# The path a sandbox is served under; PUBLIC_URL may itself have a path prefix.
_SANDBOX_URL_PATH = re.compile(r"(?:^|/)sandbox/(?P<slug>[-a-zA-Z0-9_]+)/?$")


class NotASandbox(Exception):
    """The store is not a sandbox store, or no sandbox is served at its URL."""


def sandbox_for_store(store: Store) -> SandboxStore:
    """The SandboxStore a sandbox Store points at; NotASandbox with a reason otherwise."""
    flavor = SANDBOX_PLATFORMS.get(store.platform)
    if flavor is None:
        raise NotASandbox(
            f"This store is not a sandbox ({store.get_platform_display()}): fault injection "
            "exists only for sandbox stores."
        )
    match = _SANDBOX_URL_PATH.search(urlsplit(store.base_url).path)
    if match is None:
        raise NotASandbox(
            "This store's base URL does not point at a sandbox (expected …/sandbox/<slug>)."
        )
    sandbox = SandboxStore.objects.filter(slug=match["slug"], flavor=flavor).first()
    if sandbox is None:
        raise NotASandbox(f"No {Flavor(flavor).label} sandbox is served at {match['slug']!r}.")
    return sandbox


def current(sandbox: SandboxStore) -> dict[str, Any]:
    return {name: getattr(sandbox, name) for name in FIELDS}


def clean(changes: dict[str, Any]) -> dict[str, int | float]:
    """The changes as numbers within their limits; ValidationError per field otherwise."""
    unknown = sorted(set(changes) - set(LIMITS))
    if unknown:
        raise ValidationError({name: "Not a fault setting." for name in unknown})
    cleaned: dict[str, int | float] = {}
    errors: dict[str, str] = {}
    for name, value in changes.items():
        limit = LIMITS[name]
        number = _number(value, integer=limit.integer)
        if number is None or not limit.low <= number <= limit.high:
            kind = "a whole number" if limit.integer else "a number"
            errors[name] = f"Must be {kind} from {limit.low:g} to {limit.high:g}."
        else:
            cleaned[name] = number
    if errors:
        raise ValidationError(errors)
    return cleaned


def _number(value: Any, *, integer: bool) -> int | float | None:
    # bool is an int to Python, never a setting to a user; NaN and infinities compare oddly.
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    if not math.isfinite(value):
        return None
    if integer:
        return int(value) if float(value).is_integer() else None
    return float(value)


@transaction.atomic
def update_faults(
    store: Store,
    sandbox: SandboxStore,
    *,
    user: Any,
    request: Any = None,
    **changes: Any,
) -> dict[str, dict[str, Any]]:
    """Apply the changed settings and audit them; returns {field: {"old", "new"}} (empty when
    nothing changed, and then nothing is written or audited).

    Any change restarts the fault sequence (fault_draws = 0): the settings just saved replay
    the same faults from their first request."""
    values = clean(changes)
    # Locked, and saved with update_fields only: request threads bump next_id, the quota window
    # and the draw counter on this row all the time, and a full save would write them back stale.
    locked = SandboxStore.objects.select_for_update().get(pk=sandbox.pk)
    changed = {
        name: {"old": getattr(locked, name), "new": value}
        for name, value in values.items()
        if getattr(locked, name) != value
    }
    if not changed:
        return {}
    for name, diff in changed.items():
        setattr(locked, name, diff["new"])
    locked.fault_draws = 0
    locked.save(update_fields=[*changed, "fault_draws"])
    audit.record(
        action="sandbox.faults_changed",
        obj=locked,
        user=user,
        request=request,
        payload={"store_id": store.pk, "sandbox": locked.slug, "changed": changed},
    )
    for name in (*changed, "fault_draws"):
        setattr(sandbox, name, getattr(locked, name))
    return changed
