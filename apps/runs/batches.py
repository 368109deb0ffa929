"""Batch leases: which worker holds a batch, until when.

A claim is one conditional UPDATE, so two workers handed the same message (at-least-once
delivery) cannot both process a batch; an expired lease can be claimed again.
"""

from __future__ import annotations

import os
import socket
from datetime import timedelta

from django.conf import settings
from django.db.models import F, Q
from django.utils import timezone

from apps.runs.choices import BatchStatus
from apps.runs.models import EntityBatch


def worker_identity() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"


def claim(batch_id: int, owner: str | None = None) -> EntityBatch | None:
    """Lease a pending batch (or one whose lease expired). None if another holder has it or
    it is finished."""
    now = timezone.now()
    owner = owner or worker_identity()
    claimable = Q(status=BatchStatus.PENDING) | Q(
        status=BatchStatus.RUNNING, lease_expires_at__lt=now
    )
    updated = EntityBatch.objects.filter(claimable, pk=batch_id).update(
        status=BatchStatus.RUNNING,
        lease_owner=owner,
        lease_expires_at=now + timedelta(seconds=settings.BATCH_LEASE_SECONDS),
        attempts=F("attempts") + 1,
        started_at=now,
    )
    if not updated:
        return None
    return EntityBatch.objects.select_related("run__project").get(pk=batch_id)


def release(batch: EntityBatch, error: str) -> None:
    """Give a batch back (it will be retried) and keep the reason it was given back."""
    EntityBatch.objects.filter(pk=batch.pk, lease_owner=batch.lease_owner).update(
        status=BatchStatus.PENDING, lease_owner="", lease_expires_at=None, error=error[:2000]
    )


def fail(batch: EntityBatch, error: str) -> None:
    EntityBatch.objects.filter(pk=batch.pk).update(
        status=BatchStatus.FAILED,
        lease_owner="",
        lease_expires_at=None,
        error=error[:2000],
        finished_at=timezone.now(),
    )


def heartbeat(batch: EntityBatch) -> bool:
    """Extend our lease; False when it is no longer ours (another worker took the batch)."""
    return bool(
        EntityBatch.objects.filter(
            pk=batch.pk, lease_owner=batch.lease_owner, status=BatchStatus.RUNNING
        ).update(lease_expires_at=timezone.now() + timedelta(seconds=settings.BATCH_LEASE_SECONDS))
    )


def lease_wait_seconds(batch_id: int) -> float | None:
    """How long until a leased batch may be claimed again; None when it is not leased."""
    expires = (
        EntityBatch.objects.filter(pk=batch_id, status=BatchStatus.RUNNING)
        .values_list("lease_expires_at", flat=True)
        .first()
    )
    if expires is None:
        return None
    return max(1.0, (expires - timezone.now()).total_seconds() + 1)
