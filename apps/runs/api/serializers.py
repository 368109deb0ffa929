from __future__ import annotations

import dataclasses

from rest_framework import serializers

from apps.projects.api.common import NamedChoiceField
from apps.runs.choices import SUPPORTED_KINDS, BatchStatus, RunKind, RunStatus
from apps.runs.models import EntityBatch, RecordOutcome, Run
from apps.runs.services import EntityProgress

_KINDS = ", ".join(RunKind.values)
_SUPPORTED = ", ".join(str(kind) for kind in SUPPORTED_KINDS)


class RunStartSerializer(serializers.Serializer):
    kind = serializers.ChoiceField(
        choices=RunKind.choices,
        help_text=f"What to run. Available today: {_SUPPORTED}.",
        error_messages={"invalid_choice": f'"{{input}}" is not a run kind; use one of {_KINDS}.'},
    )


class ProgressCountsSerializer(serializers.Serializer):
    total = serializers.IntegerField(help_text="Records the plan found at the source.")
    processed = serializers.IntegerField()
    created = serializers.IntegerField()
    updated = serializers.IntegerField()
    unchanged = serializers.IntegerField()
    skipped = serializers.IntegerField()
    failed = serializers.IntegerField()
    percent = serializers.IntegerField(min_value=0, max_value=100)
    batches_total = serializers.IntegerField()
    batches_done = serializers.IntegerField()


class EntityProgressSerializer(ProgressCountsSerializer):
    entity = serializers.CharField()


class RunSummarySerializer(serializers.ModelSerializer):
    created_by = serializers.CharField(
        source="created_by.username", read_only=True, allow_null=True
    )
    status = NamedChoiceField(enum_name="RunStatusEnum", choices=RunStatus.choices, read_only=True)
    is_live = serializers.BooleanField(read_only=True)

    class Meta:
        model = Run
        fields = [
            "id",
            "project",
            "kind",
            "status",
            "is_live",
            "parent",
            "since",
            "until",
            "error",
            "created_by",
            "created_at",
            "started_at",
            "finished_at",
        ]
        read_only_fields = fields


def combined_progress(progress: list[EntityProgress]) -> EntityProgress:
    """All entities' counters added up, so `percent` follows the same rule as per entity."""
    names = [field.name for field in dataclasses.fields(EntityProgress) if field.name != "entity"]
    sums = {name: sum(getattr(row, name) for row in progress) for name in names}
    return EntityProgress(entity="", **sums)


class RunDetailSerializer(RunSummarySerializer):
    """A run with its per-entity progress; the view sets `progress` from entity_progress()."""

    entities = EntityProgressSerializer(many=True, read_only=True, source="progress")
    totals = ProgressCountsSerializer(read_only=True)

    class Meta(RunSummarySerializer.Meta):
        fields = [*RunSummarySerializer.Meta.fields, "entities", "totals"]
        read_only_fields = fields


class FailureSerializer(serializers.ModelSerializer):
    class Meta:
        model = RecordOutcome
        fields = [
            "id",
            "entity",
            "source_id",
            "natural_key",
            "reason",
            "payload_digest",
            "created_at",
        ]
        read_only_fields = fields


class BatchSerializer(serializers.ModelSerializer):
    status = NamedChoiceField(
        enum_name="BatchStatusEnum", choices=BatchStatus.choices, read_only=True
    )

    class Meta:
        model = EntityBatch
        fields = [
            "id",
            "entity",
            "seq",
            "status",
            "attempts",
            "read",
            "created",
            "updated",
            "unchanged",
            "skipped",
            "failed",
            "error",
            "lease_expires_at",
            "started_at",
            "finished_at",
        ]
        read_only_fields = fields
