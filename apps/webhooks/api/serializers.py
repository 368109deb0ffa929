"""What the API shows of a project's webhooks (never the secret), and a sandbox's delivery
faults."""

from __future__ import annotations

from typing import Any

from rest_framework import serializers

from apps.projects.api.common import NamedChoiceField
from apps.sandbox.webhooks import FAULT_LIMITS
from apps.webhooks.models import EndpointStatus, Platform


class SubscriptionSerializer(serializers.Serializer):
    id = serializers.CharField(help_text="The subscription's id at the source store.")
    topic = serializers.CharField(help_text="product.updated, store/product/updated …")


class ProjectWebhooksSerializer(serializers.Serializer):
    connected = serializers.BooleanField(help_text="Whether an endpoint exists for the project.")
    platform = NamedChoiceField(
        enum_name="WebhookPlatformEnum", choices=Platform.choices, allow_null=True
    )
    status = NamedChoiceField(
        enum_name="WebhookStatusEnum", choices=EndpointStatus.choices, allow_null=True
    )
    delivery_url = serializers.CharField(
        allow_blank=True, help_text="Where the source store delivers (the secret is not shown)."
    )
    subscriptions = SubscriptionSerializer(many=True)
    error = serializers.CharField(allow_blank=True)
    connected_at = serializers.DateTimeField(allow_null=True)
    pending_events = serializers.IntegerField(
        help_text="Changes received and not yet taken by a delta."
    )
    last_event_at = serializers.DateTimeField(allow_null=True)


def _fault_field(name: str, help_text: str) -> serializers.Field:
    low, high, integer = FAULT_LIMITS[name]
    kind = serializers.IntegerField if integer else serializers.FloatField
    return kind(
        min_value=low, max_value=high, required=False, help_text=f"{help_text} {low:g}…{high:g}."
    )


class SandboxWebhookFaultsSerializer(serializers.Serializer):
    """A partial update; unknown fields are refused, so a misspelt setting cannot look saved."""

    store_id = serializers.IntegerField(read_only=True)
    sandbox = serializers.CharField(read_only=True, help_text="The sandbox's slug.")
    duplicate_rate = _fault_field(
        "duplicate_rate", "Share of webhook deliveries sent twice (same delivery id)."
    )
    reorder_rate = _fault_field(
        "reorder_rate", "Share of deliveries held back so that later ones overtake them."
    )
    hold_ms = _fault_field("hold_ms", "How long a held delivery waits.")
    seed = _fault_field("seed", "The same seed and rates replay the same faults.")

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        if isinstance(self.initial_data, dict):
            unknown = sorted(set(self.initial_data) - set(self.fields))
            if unknown:
                raise serializers.ValidationError({name: "Unknown field." for name in unknown})
        return attrs
