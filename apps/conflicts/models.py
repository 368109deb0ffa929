"""The review queue: records changed on both sides (or deleted at the source) that a policy
sent to a person. The engine writes these rows; people resolve them (apps/conflicts/services.py).
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q

from apps.conflicts.choices import ConflictKind, ConflictStatus


class Conflict(models.Model):
    project = models.ForeignKey(
        "projects.Project", on_delete=models.CASCADE, related_name="conflicts"
    )
    run = models.ForeignKey(
        "runs.Run", null=True, blank=True, on_delete=models.SET_NULL, related_name="conflicts"
    )
    kind = models.CharField(max_length=10, choices=ConflictKind.choices, default=ConflictKind.EDIT)
    entity = models.CharField(max_length=40)
    source_id = models.CharField(max_length=64)
    target_id = models.CharField(max_length=64, blank=True)
    natural_key = models.CharField(max_length=255, blank=True)
    # Three versions of the record, canonical form:
    # base   — what we last wrote (source terms: references are source ids),
    # source — the source now (source terms),
    # target — the target now (target terms), and
    # source_resolved — the source now with references translated to target ids.
    base = models.JSONField(default=dict, blank=True)
    source = models.JSONField(default=dict, blank=True)
    source_resolved = models.JSONField(default=dict, blank=True)
    target = models.JSONField(default=dict, blank=True)
    # The record as merged automatically (target terms): fields changed on one side only
    # already carry that side's value; the conflicting fields still hold the target's.
    merged = models.JSONField(default=dict, blank=True)
    # Fields changed on both sides to different values (empty for a delete).
    fields = models.JSONField(default=list, blank=True)
    policy = models.CharField(max_length=20, blank=True)
    source_hash = models.CharField(max_length=64, blank=True)
    target_hash = models.CharField(max_length=64, blank=True)
    status = models.CharField(
        max_length=10, choices=ConflictStatus.choices, default=ConflictStatus.OPEN, db_index=True
    )
    # {field: {"side": "source" | "target" | "custom", "value": ...}}
    resolution = models.JSONField(default=dict, blank=True)
    resolved_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    resolved_at = models.DateTimeField(null=True, blank=True)
    # A person's claim while their resolution is written to the target (apps/conflicts/
    # services.py): taken by one conditional UPDATE before the target is called, so two people
    # resolving at once make one write; released when the write fails; a claim older than
    # services.CLAIM_TTL is abandoned (a process that died mid-write) and may be taken over.
    claim_token = models.CharField(max_length=32, blank=True)
    claimed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    claimed_at = models.DateTimeField(null=True, blank=True)
    # Why the last attempt to resolve failed (the target refused or was unreachable, or the
    # target changed meanwhile); cleared when a resolution succeeds.
    error = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            # One open conflict per record: a later delta refreshes it instead of adding one.
            models.UniqueConstraint(
                fields=["project", "entity", "source_id"],
                condition=Q(status="open"),
                name="conflict_one_open_per_record",
            )
        ]
        indexes = [models.Index(fields=["project", "status", "entity"])]

    def __str__(self) -> str:
        return f"{self.get_kind_display()}: {self.entity} {self.source_id}"
