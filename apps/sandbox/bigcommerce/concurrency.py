"""BigCommerce's concurrency cap: at most 3 requests in flight per store on the customers API.

Each store has LIMIT slot rows (SandboxObject, resource "inflight-<gate>", object_id 0…LIMIT-1).
A slot is free when its `date_modified` (here: "held until") has passed. Taking one is a single
conditional UPDATE (free → held until now + LEASE, with a fresh token in `name`), so threads and
processes never share a slot and no read-modify-write happens in Python. The request gives its
slot back in a `finally`; a request whose process died keeps its slot only until the lease runs
out, so a crash can never wedge the API shut.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from django.utils import timezone

from apps.sandbox.models import SandboxObject, SandboxStore

LIMIT = 3
# Longer than any sane request; only a dead request ever holds a slot this long.
LEASE = timedelta(seconds=60)
# What a refused request is told to wait: in-flight requests finish in milliseconds here.
RETRY_MS = 250
FREE = datetime(1970, 1, 1, tzinfo=UTC)


@dataclass(frozen=True)
class Slot:
    store_id: int
    resource: str
    number: int
    token: str


def resource_for(gate: str) -> str:
    return f"inflight-{gate}"


def _slots(store: SandboxStore, resource: str):
    return SandboxObject.objects.filter(store=store, resource=resource)


def _ensure_slots(store: SandboxStore, resource: str) -> None:
    # ignore_conflicts: two first requests racing to create the rows both succeed.
    SandboxObject.objects.bulk_create(
        [
            SandboxObject(
                store=store,
                resource=resource,
                object_id=number,
                data={},
                date_created=FREE,
                date_modified=FREE,
            )
            for number in range(LIMIT)
        ],
        ignore_conflicts=True,
    )


def acquire(store: SandboxStore, gate: str) -> Slot | None:
    """Take a free slot, or None when LIMIT requests are already in flight."""
    resource = resource_for(gate)
    for attempt in range(2):
        now = timezone.now()
        token = secrets.token_hex(8)
        for number in range(LIMIT):
            taken = _slots(store, resource).filter(object_id=number, date_modified__lte=now)
            if taken.update(name=token, date_modified=now + LEASE):
                return Slot(store.pk, resource, number, token)
        if attempt == 0:
            # The slots may not exist yet, or another first request may just have created
            # them: make sure they exist (idempotent) and look once more before refusing.
            _ensure_slots(store, resource)
            continue
        break
    return None


def release(slot: Slot) -> None:
    # The token check: a slot whose lease ran out and was taken by another request is theirs.
    SandboxObject.objects.filter(
        store_id=slot.store_id, resource=slot.resource, object_id=slot.number, name=slot.token
    ).update(name="", date_modified=FREE)


def in_flight(store: SandboxStore, gate: str) -> int:
    """How many slots are held right now (for tests and diagnostics)."""
    return _slots(store, resource_for(gate)).filter(date_modified__gt=timezone.now()).count()
