"""BigCommerce's request quota: N requests per window, advertised on every response.

The counters live on the SandboxStore row and are changed only by conditional UPDATEs, so web
server threads and processes share one budget without a lock and without read-modify-write in
Python: "start a new window if the old one ran out" and "take one if any are left" are each a
single statement that either matches the row or does not.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

from django.db.models import F

from apps.sandbox.models import SandboxStore

# What a store without a quota (quota_requests=0) advertises: clients that pace themselves from
# the headers see plenty of room and never wait.
UNLIMITED_QUOTA = 1_000_000

# A window can end between our two UPDATEs; a few rounds settle it.
_ATTEMPTS = 3


def now_ms() -> int:
    """Wall-clock milliseconds (shared by processes). Tests patch this to move time."""
    return time.time_ns() // 1_000_000


@dataclass(frozen=True)
class Budget:
    allowed: bool
    quota: int
    left: int
    window_ms: int
    reset_ms: int

    def headers(self) -> dict[str, str]:
        return {
            "X-Rate-Limit-Requests-Quota": str(self.quota),
            "X-Rate-Limit-Requests-Left": str(self.left),
            "X-Rate-Limit-Time-Window-Ms": str(self.window_ms),
            "X-Rate-Limit-Time-Reset-Ms": str(self.reset_ms),
        }


def _window(store: SandboxStore) -> int:
    return max(1, store.quota_window_ms)


def _budget(store: SandboxStore, *, allowed: bool, started: int, used: int, now: int) -> Budget:
    window = _window(store)
    # Clamped: a process whose clock lags the one that opened the window must not advertise
    # a reset further away than one window.
    reset = max(0, min(window, started + window - now))
    quota = store.quota_requests
    return Budget(allowed, quota, max(0, quota - used), window, reset)


def _unlimited(store: SandboxStore) -> Budget:
    window = _window(store)
    return Budget(True, UNLIMITED_QUOTA, UNLIMITED_QUOTA, window, window)


def consume(store: SandboxStore) -> Budget:
    """Spend one request of the store's window, or say how long until there is one."""
    if store.quota_requests == 0:
        return _unlimited(store)
    window = _window(store)
    quota = store.quota_requests
    rows = SandboxStore.objects.filter(pk=store.pk)
    started = used = 0
    now = now_ms()
    for _ in range(_ATTEMPTS):
        now = now_ms()
        expired_before = now - window
        if rows.filter(window_started_ms__lte=expired_before).update(
            window_started_ms=now, window_used=1
        ):
            return _budget(store, allowed=True, started=now, used=1, now=now)
        if rows.filter(window_started_ms__gt=expired_before, window_used__lt=quota).update(
            window_used=F("window_used") + 1
        ):
            # Read back only for the headers; another request may have moved on meanwhile,
            # which makes "left" approximate, never the decision.
            started, used = rows.values_list("window_started_ms", "window_used").get()
            return _budget(store, allowed=True, started=started, used=used, now=now)
        started, used = rows.values_list("window_started_ms", "window_used").get()
        if started > expired_before:
            return _budget(store, allowed=False, started=started, used=max(used, quota), now=now)
    return _budget(store, allowed=False, started=started, used=quota, now=now)


def peek(store: SandboxStore) -> Budget:
    """The budget as it stands, without spending (for refused, unauthenticated requests)."""
    if store.quota_requests == 0:
        return _unlimited(store)
    now = now_ms()
    if store.window_started_ms <= now - _window(store):
        return Budget(True, store.quota_requests, store.quota_requests, _window(store), 0)
    return _budget(
        store, allowed=True, started=store.window_started_ms, used=store.window_used, now=now
    )
