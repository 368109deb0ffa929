"""Reconciliation: what a `verify` run found, source against target.

One ReconciliationReport per verify Run; one EntityReconciliation row per entity in scope with
the counts and the equation source = target + failed + excluded; one ReconciliationItem per
record worth a look (mismatch with field diffs, missing, orphan, failed, excluded, spot check).
ImportantRecord is the project's list of records a verify run checks deeply.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.db import models
from django.db.models import Count, Q, Sum

from apps.reconciliation.choices import ItemKind

COUNT_FIELDS = ("source_count", "target_count", "mapped", "matched", "mismatched", "missing")
COUNT_FIELDS += ("orphans", "failed", "excluded")


class ReconciliationReport(models.Model):
    run = models.OneToOneField(
        "runs.Run", on_delete=models.CASCADE, related_name="reconciliation_report"
    )
    project = models.ForeignKey(
        "projects.Project", on_delete=models.CASCADE, related_name="reconciliation_reports"
    )
    started_at = models.DateTimeField(null=True, blank=True)
    # Set when every entity and spot check is written: only a finished report is evidence.
    finished_at = models.DateTimeField(null=True, blank=True)
    # Who is building the report and until when (extended page by page): a message delivered
    # again while a live worker builds it waits instead of building a second copy.
    lease_owner = models.CharField(max_length=120, blank=True)
    lease_expires_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-id"]
        indexes = [models.Index(fields=["project", "finished_at"])]

    def __str__(self) -> str:
        return f"Reconciliation of run {self.run_id}"

    def summary(self) -> dict[str, Any]:
        """Totals over entities (the go-live gates read this)."""
        totals = self.entities.aggregate(
            **{name: Sum(name) for name in COUNT_FIELDS},
            broken=Count("id", filter=Q(equation_holds=False)),
        )
        checks = self.items.filter(kind=ItemKind.SPOT_CHECK).aggregate(
            total=Count("id"), failed=Count("id", filter=Q(passed=False))
        )
        return {
            "finished_at": self.finished_at,
            "source": totals["source_count"] or 0,
            "target": totals["target_count"] or 0,
            "mapped": totals["mapped"] or 0,
            "matched": totals["matched"] or 0,
            "mismatched": totals["mismatched"] or 0,
            "missing": totals["missing"] or 0,
            "orphans": totals["orphans"] or 0,
            "failed": totals["failed"] or 0,
            "excluded": totals["excluded"] or 0,
            "equation_holds": self.finished_at is not None and not totals["broken"],
            "spot_checks": checks["total"],
            "spot_checks_failed": checks["failed"],
        }


class EntityReconciliation(models.Model):
    report = models.ForeignKey(
        ReconciliationReport, on_delete=models.CASCADE, related_name="entities"
    )
    entity = models.CharField(max_length=40)
    position = models.PositiveIntegerField(default=0)
    source_count = models.PositiveIntegerField(default=0)
    target_count = models.PositiveIntegerField(default=0)
    # Source records with a synced RecordMap row (whether or not the target still has them).
    mapped = models.PositiveIntegerField(default=0)
    # Mapped source records present on the target: equal (matched) or not (mismatched).
    matched = models.PositiveIntegerField(default=0)
    mismatched = models.PositiveIntegerField(default=0)
    # Expected on the target and not there: mapped to a vanished id, or never migrated.
    missing = models.PositiveIntegerField(default=0)
    # Target records no RecordMap row of the project points to.
    orphans = models.PositiveIntegerField(default=0)
    failed = models.PositiveIntegerField(default=0)
    excluded = models.PositiveIntegerField(default=0)
    # source_count == matched + mismatched + failed + excluded (nothing lost).
    equation_holds = models.BooleanField(default=False)

    class Meta:
        ordering = ["report", "position"]
        constraints = [
            models.UniqueConstraint(fields=["report", "entity"], name="recon_entity_unique")
        ]

    def __str__(self) -> str:
        return f"{self.entity} in report {self.report_id}"

    @property
    def present(self) -> int:
        return self.matched + self.mismatched

    @property
    def equation(self) -> str:
        sign = "=" if self.equation_holds else "≠"
        return (
            f"source {self.source_count} {sign} target {self.present} + failed {self.failed} "
            f"+ excluded {self.excluded}"
        )


class ReconciliationItem(models.Model):
    report = models.ForeignKey(ReconciliationReport, on_delete=models.CASCADE, related_name="items")
    kind = models.CharField(max_length=12, choices=ItemKind.choices)
    entity = models.CharField(max_length=40)
    source_id = models.CharField(max_length=64, blank=True)
    target_id = models.CharField(max_length=64, blank=True)
    natural_key = models.CharField(max_length=255, blank=True)
    # [{"field": "variants[S-1].price", "source": "10.00", "target": "12.00"}, ...]
    diffs = models.JSONField(default=list, blank=True)
    # Checksums of the two canonical forms compared (expected, in target terms, and the target's).
    source_hash = models.CharField(max_length=64, blank=True)
    target_hash = models.CharField(max_length=64, blank=True)
    reason = models.TextField(blank=True)
    # Spot checks only: whether both sides agree.
    passed = models.BooleanField(null=True, blank=True)

    class Meta:
        ordering = ["id"]
        # One kind's items in id order (the report page's tables page by keyset on id).
        indexes = [models.Index(fields=["report", "kind", "id"], name="recon_item_kind_id")]

    def __str__(self) -> str:
        return f"{self.kind} {self.entity} {self.natural_key or self.source_id or self.target_id}"


class ImportantRecord(models.Model):
    """A record the project wants checked deeply by every verify run (a top seller by SKU)."""

    project = models.ForeignKey(
        "projects.Project", on_delete=models.CASCADE, related_name="important_records"
    )
    entity = models.CharField(max_length=40)
    natural_key = models.CharField(max_length=255)
    note = models.CharField(max_length=255, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["project", "entity", "natural_key"]
        constraints = [
            models.UniqueConstraint(
                fields=["project", "entity", "natural_key"], name="important_record_unique"
            )
        ]

    def __str__(self) -> str:
        return f"{self.entity} {self.natural_key}"
