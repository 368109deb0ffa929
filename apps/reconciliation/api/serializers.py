"""Serializers of the reconciliation API (read shapes, and the important-records list)."""

from __future__ import annotations

from typing import Any

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from apps.projects.api.common import NamedChoiceField
from apps.reconciliation.choices import ItemKind
from apps.reconciliation.models import (
    EntityReconciliation,
    ImportantRecord,
    ReconciliationItem,
    ReconciliationReport,
)
from apps.stores.connectors.canonical import ENTITIES


class EntityRowSerializer(serializers.ModelSerializer):
    present = serializers.IntegerField(read_only=True, help_text="matched + mismatched")
    equation = serializers.CharField(
        read_only=True, help_text="source = target + failed + excluded, with this entity's counts"
    )

    class Meta:
        model = EntityReconciliation
        fields = [
            "entity",
            "source_count",
            "target_count",
            "mapped",
            "present",
            "matched",
            "mismatched",
            "missing",
            "orphans",
            "failed",
            "excluded",
            "equation_holds",
            "equation",
        ]
        read_only_fields = fields


class SummarySerializer(serializers.Serializer):
    finished_at = serializers.DateTimeField(allow_null=True)
    source = serializers.IntegerField()
    target = serializers.IntegerField()
    mapped = serializers.IntegerField()
    matched = serializers.IntegerField()
    mismatched = serializers.IntegerField()
    missing = serializers.IntegerField()
    orphans = serializers.IntegerField()
    failed = serializers.IntegerField()
    excluded = serializers.IntegerField()
    equation_holds = serializers.BooleanField()
    spot_checks = serializers.IntegerField()
    spot_checks_failed = serializers.IntegerField()


class ReportSerializer(serializers.ModelSerializer):
    run_status = serializers.CharField(source="run.status", read_only=True)
    summary = serializers.SerializerMethodField()
    entities = EntityRowSerializer(many=True, read_only=True)

    class Meta:
        model = ReconciliationReport
        fields = [
            "id",
            "run",
            "run_status",
            "project",
            "started_at",
            "finished_at",
            "summary",
            "entities",
        ]
        read_only_fields = fields

    @extend_schema_field(SummarySerializer)
    def get_summary(self, report: ReconciliationReport) -> dict[str, Any]:
        return SummarySerializer(report.summary()).data


class DiffSerializer(serializers.Serializer):
    field = serializers.CharField(help_text='A path: "name", "variants[TEE-S].price".')
    source = serializers.JSONField(help_text="The value the engine would write.")
    target = serializers.JSONField(help_text="The value on the target now.")


class ItemSerializer(serializers.ModelSerializer):
    kind = NamedChoiceField(
        enum_name="ReconciliationItemKindEnum", choices=ItemKind.choices, read_only=True
    )
    diffs = DiffSerializer(many=True, read_only=True)

    class Meta:
        model = ReconciliationItem
        fields = [
            "id",
            "kind",
            "entity",
            "source_id",
            "target_id",
            "natural_key",
            "passed",
            "diffs",
            "source_hash",
            "target_hash",
            "reason",
        ]
        read_only_fields = fields


class ImportantRecordSerializer(serializers.ModelSerializer):
    entity = NamedChoiceField(
        enum_name="ImportantRecordEntityEnum", choices=[(e, e) for e in ENTITIES]
    )
    natural_key = serializers.CharField(
        max_length=255, help_text="SKU, email, order reference, category path, brand or slug."
    )
    note = serializers.CharField(max_length=255, required=False, allow_blank=True, default="")
    created_by = serializers.CharField(
        source="created_by.username", read_only=True, allow_null=True
    )

    class Meta:
        model = ImportantRecord
        fields = ["id", "entity", "natural_key", "note", "created_by", "created_at"]
        read_only_fields = ["id", "created_by", "created_at"]


class ImportantRecordChangeSerializer(serializers.Serializer):
    note = serializers.CharField(max_length=255, allow_blank=True)
