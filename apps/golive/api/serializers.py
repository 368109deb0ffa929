from __future__ import annotations

from typing import Any

from rest_framework import serializers

from apps.golive import checks, services
from apps.golive.choices import (
    Channel,
    CheckKind,
    DeliveryStatus,
    Event,
    GateStatus,
    PlanState,
)
from apps.golive.models import (
    Approval,
    Check,
    CutoverUnit,
    Delivery,
    EmailRecipients,
    Gate,
    WebhookEndpoint,
)
from apps.projects.api.common import NamedChoiceField


class CheckSerializer(serializers.ModelSerializer):
    kind = NamedChoiceField(
        enum_name="GateCheckKindEnum", choices=CheckKind.choices, read_only=True
    )
    label = serializers.SerializerMethodField()
    unit = serializers.SerializerMethodField()
    direction = serializers.SerializerMethodField(
        help_text='"max": passes when value <= threshold; "min": when value >= threshold.'
    )
    evidence = serializers.JSONField(
        read_only=True, help_text="summary, links [{label, url}], ids; available=false: no data."
    )

    class Meta:
        model = Check
        fields = [
            "id",
            "kind",
            "label",
            "unit",
            "direction",
            "threshold",
            "enabled",
            "value",
            "passed",
            "evidence",
            "evaluated_at",
        ]
        read_only_fields = fields

    def get_label(self, obj: Check) -> str:
        return checks.SPECS[obj.kind].label

    def get_unit(self, obj: Check) -> str:
        return checks.SPECS[obj.kind].unit

    def get_direction(self, obj: Check) -> str:
        return checks.SPECS[obj.kind].direction


class ApprovalSerializer(serializers.ModelSerializer):
    user = serializers.CharField(source="user.username", read_only=True)
    withdrawn_by = serializers.CharField(
        source="withdrawn_by.username", read_only=True, allow_null=True
    )

    class Meta:
        model = Approval
        fields = ["id", "gate", "user", "at", "withdrawn_at", "withdrawn_reason", "withdrawn_by"]
        read_only_fields = fields


class GateSerializer(serializers.ModelSerializer):
    status = NamedChoiceField(
        enum_name="GateStatusEnum", choices=GateStatus.choices, read_only=True
    )
    checks = CheckSerializer(many=True, read_only=True)
    approvals = ApprovalSerializer(many=True, read_only=True)
    active_approvals = serializers.SerializerMethodField()

    class Meta:
        model = Gate
        fields = [
            "id",
            "order",
            "key",
            "name",
            "description",
            "status",
            "required_approvals",
            "active_approvals",
            "passed_at",
            "checks",
            "approvals",
        ]
        read_only_fields = fields

    def get_active_approvals(self, obj: Gate) -> int:
        return len(services.active_approvals(obj))


class UnitSerializer(serializers.ModelSerializer):
    unsupported_directions = serializers.SerializerMethodField(
        help_text="Stages whose delta direction the engine cannot run (target → source)."
    )

    class Meta:
        model = CutoverUnit
        fields = [
            "id",
            "key",
            "name",
            "entities",
            "system_of_record",
            "delta_direction",
            "unsupported_directions",
            "rollback_window_hours",
            "rollback_triggers",
        ]
        read_only_fields = ["id", "key", "name", "entities", "unsupported_directions"]

    def get_unsupported_directions(self, obj: CutoverUnit) -> list[str]:
        return services.unsupported_directions(obj)


class UnitUpdateSerializer(serializers.Serializer):
    system_of_record = serializers.DictField(child=serializers.CharField(), required=False)
    delta_direction = serializers.DictField(child=serializers.CharField(), required=False)
    rollback_window_hours = serializers.IntegerField(min_value=0, required=False)
    rollback_triggers = serializers.JSONField(required=False)


class PlanSerializer(serializers.Serializer):
    project = serializers.IntegerField(source="project_id")
    state = NamedChoiceField(enum_name="CutoverPlanStateEnum", choices=PlanState.choices)
    went_live_at = serializers.DateTimeField(allow_null=True)
    evaluated_at = serializers.DateTimeField(allow_null=True)
    blockers = serializers.ListField(child=serializers.CharField())
    gates = GateSerializer(many=True)
    units = UnitSerializer(many=True)


class CheckUpdateSerializer(serializers.Serializer):
    threshold = serializers.FloatField(required=False, min_value=0)
    enabled = serializers.BooleanField(required=False)


class GateUpdateSerializer(serializers.Serializer):
    required_approvals = serializers.IntegerField(min_value=1, max_value=services.MAX_APPROVALS)


class WithdrawSerializer(serializers.Serializer):
    reason = serializers.CharField(required=False, allow_blank=True, max_length=500)


class RollbackSerializer(serializers.Serializer):
    run = serializers.IntegerField(min_value=1)
    override = serializers.BooleanField(default=False)


class EndpointSerializer(serializers.ModelSerializer):
    """The secret is write-only: set on create, rotated by a PATCH, never answered."""

    secret = serializers.CharField(
        write_only=True, required=False, min_length=16, max_length=200, trim_whitespace=True
    )
    has_secret = serializers.SerializerMethodField()
    events = serializers.ListField(
        child=serializers.ChoiceField(choices=Event.choices), required=False
    )

    class Meta:
        model = WebhookEndpoint
        fields = ["id", "url", "events", "active", "secret", "has_secret", "created_at"]
        read_only_fields = ["id", "has_secret", "created_at"]

    def get_has_secret(self, obj: WebhookEndpoint) -> bool:
        return bool(obj.secret_encrypted)


class DeliverySerializer(serializers.ModelSerializer):
    channel = NamedChoiceField(enum_name="DeliveryChannelEnum", choices=Channel.choices)
    status = NamedChoiceField(enum_name="DeliveryStatusEnum", choices=DeliveryStatus.choices)

    class Meta:
        model = Delivery
        fields = [
            "id",
            "event",
            "channel",
            "endpoint",
            "recipients",
            "status",
            "attempts",
            "response_code",
            "error",
            "payload",
            "created_at",
            "sent_at",
        ]
        read_only_fields = fields


class EmailRecipientsSerializer(serializers.ModelSerializer):
    roles = serializers.ListField(child=serializers.CharField(), required=False)
    addresses = serializers.ListField(child=serializers.CharField(), required=False)
    events = serializers.ListField(child=serializers.CharField(), required=False)

    class Meta:
        model = EmailRecipients
        fields = ["roles", "addresses", "events"]


def plan_data(plan: Any, gates: list[Gate]) -> dict[str, Any]:
    return PlanSerializer(
        {
            "project_id": plan.project_id,
            "state": plan.state,
            "went_live_at": plan.went_live_at,
            "evaluated_at": plan.evaluated_at,
            "blockers": services.blockers(plan, gates),
            "gates": gates,
            "units": list(plan.units.all()),
        }
    ).data
