from __future__ import annotations

from typing import Any

from rest_framework import serializers

from apps.conflicts import services
from apps.conflicts.choices import ConflictKind, ConflictStatus, Side
from apps.conflicts.models import Conflict
from apps.projects.api.common import NamedChoiceField

_SIDES = [(Side.SOURCE, "Source"), (Side.TARGET, "Target")]


class ConflictSerializer(serializers.ModelSerializer):
    """One review-queue row without the record versions (see the detail)."""

    kind = NamedChoiceField(
        enum_name="ConflictKindEnum", choices=ConflictKind.choices, read_only=True
    )
    status = NamedChoiceField(
        enum_name="ConflictStatusEnum", choices=ConflictStatus.choices, read_only=True
    )
    fields = serializers.ListField(
        child=serializers.CharField(),
        read_only=True,
        help_text="The fields changed on both sides to different values (empty for a delete).",
    )
    resolved_by = serializers.CharField(
        source="resolved_by.username", read_only=True, allow_null=True
    )
    claimed_by = serializers.CharField(
        source="claimed_by.username",
        read_only=True,
        allow_null=True,
        help_text="Who is writing a resolution right now (null when nobody is).",
    )
    resolution = serializers.JSONField(
        read_only=True,
        help_text='Edit: {field: {"side", "value"}}; delete: {"action"}; dismissed: {"reason"}.',
    )
    error = serializers.CharField(
        read_only=True, help_text="Why the last attempt to resolve failed (empty otherwise)."
    )

    class Meta:
        model = Conflict
        fields = [
            "id",
            "project",
            "run",
            "kind",
            "entity",
            "source_id",
            "target_id",
            "natural_key",
            "fields",
            "policy",
            "status",
            "resolution",
            "resolved_by",
            "resolved_at",
            "claimed_by",
            "error",
            "created_at",
            "updated_at",
        ]
        read_only_fields = fields

    def to_representation(self, instance: Conflict) -> dict[str, Any]:
        data = super().to_representation(instance)
        # A claim past its time-to-live is abandoned: nobody is writing.
        if not instance.claim_token:
            data["claimed_by"] = None
        return data


class FieldDiffSerializer(serializers.Serializer):
    field = serializers.CharField()
    state = serializers.ChoiceField(
        choices=["conflict", "source", "target", "both", "unchanged"],
        help_text="conflict: changed on both sides to different values; source / target: "
        "changed on that side only; both: changed alike; unchanged.",
    )
    base = serializers.JSONField(help_text="What we last wrote (source terms).")
    source = serializers.JSONField(help_text="The source now (source terms).")
    source_resolved = serializers.JSONField(
        help_text="The source now with references as target ids: what side=source writes."
    )
    target = serializers.JSONField(help_text="The target now.")
    merged = serializers.JSONField(help_text="What is written unless a choice overrides it.")
    source_changed = serializers.BooleanField()
    target_changed = serializers.BooleanField()
    conflicting = serializers.BooleanField()


class ConflictDetailSerializer(ConflictSerializer):
    base = serializers.JSONField(read_only=True)
    source = serializers.JSONField(read_only=True)
    source_resolved = serializers.JSONField(read_only=True)
    target = serializers.JSONField(read_only=True)
    merged = serializers.JSONField(read_only=True)
    # Set by the view (conflict_detail): computing them needs the RecordMap row.
    diff = FieldDiffSerializer(many=True, read_only=True, source="diff_rows")
    version = serializers.CharField(
        read_only=True,
        source="version_tag",
        help_text="Send it back with a resolution: if the conflict was refreshed since, the "
        "resolution is refused (409) instead of applied to values you did not see.",
    )

    class Meta(ConflictSerializer.Meta):
        fields = [
            *ConflictSerializer.Meta.fields,
            "version",
            "base",
            "source",
            "source_resolved",
            "target",
            "merged",
            "diff",
        ]
        read_only_fields = fields


def conflict_detail(conflict: Conflict) -> dict[str, Any]:
    conflict.diff_rows = [{**row.__dict__, "state": row.state} for row in services.diff(conflict)]
    conflict.version_tag = services.version(conflict)
    return ConflictDetailSerializer(conflict).data


class ChoiceSerializer(serializers.Serializer):
    side = NamedChoiceField(enum_name="ConflictSideEnum", choices=Side.choices)
    value = serializers.JSONField(
        required=False,
        help_text='For side "custom": the value to write, of the same type as the field\'s '
        'other values (money as a string like "12.50").',
    )


class ResolveSerializer(serializers.Serializer):
    choices = serializers.DictField(
        child=ChoiceSerializer(),
        help_text="One entry per conflicting field: {field: {side, value?}}.",
    )
    version = serializers.CharField(
        required=False,
        max_length=64,
        help_text="The conflict's version you decided on (from GET /conflicts/{id}/).",
    )

    def to_internal_value(self, data: Any) -> dict[str, Any]:
        # Choices are checked by the service (it names each missing or bad field); here only
        # the shape, so a `value` of any JSON type passes through untouched.
        if not isinstance(data, dict):
            raise serializers.ValidationError({"non_field_errors": ["Send a JSON object."]})
        choices = data.get("choices")
        if not isinstance(choices, dict):
            raise serializers.ValidationError(
                {"choices": ["Send an object: {field: {side, value}}."]}
            )
        version = data.get("version")
        if version is not None and not isinstance(version, str):
            raise serializers.ValidationError({"version": ["Not a string."]})
        return {"choices": choices, "version": version}


class ResolveDeleteSerializer(serializers.Serializer):
    action = NamedChoiceField(
        enum_name="DeleteActionEnum",
        choices=services.DeleteAction.CHOICES,
        help_text="delete: on the target too; keep: leave it there, stop syncing it; archive: "
        "hide it (status draft; products and posts only).",
    )


class DismissSerializer(serializers.Serializer):
    reason = serializers.CharField(max_length=services.MAX_REASON)


class BulkResolveSerializer(serializers.Serializer):
    entity = serializers.CharField(max_length=40)
    field = serializers.CharField(
        max_length=100,
        required=False,
        allow_blank=True,
        help_text="Only conflicts on this field (others conflicting too are skipped); empty: "
        "the side is taken for every conflicting field.",
    )
    side = NamedChoiceField(enum_name="BulkSideEnum", choices=_SIDES)
    conflict_ids = serializers.ListField(
        child=serializers.IntegerField(min_value=1, max_value=2**63 - 1),
        required=False,
        max_length=1000,
        help_text="Only these conflicts (default: every match).",
    )
    preview = serializers.BooleanField(
        default=False, help_text="Only count what would be resolved; write nothing."
    )


class BulkFailureSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    reason = serializers.CharField()


class BulkResultSerializer(serializers.Serializer):
    preview = serializers.BooleanField()
    matched = serializers.IntegerField(help_text="Open edit conflicts the rule matched.")
    resolvable = serializers.IntegerField(help_text="Of those, resolvable by the rule alone.")
    resolved = serializers.ListField(child=serializers.IntegerField())
    failed = BulkFailureSerializer(many=True)
    skipped = BulkFailureSerializer(many=True)
    remaining = serializers.IntegerField(
        help_text="Resolvable conflicts left for another call (one call writes at most "
        f"{services.BULK_LIMIT}, and starts none after {services.BULK_SECONDS:.0f} s)."
    )
