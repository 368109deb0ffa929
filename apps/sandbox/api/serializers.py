"""The fault settings of a sandbox store, as the API shows and takes them."""

from __future__ import annotations

from typing import Any

from rest_framework import serializers

from apps.sandbox.fault_settings import LIMITS
from apps.sandbox.models import Flavor


def _field(name: str) -> serializers.Field:
    limit = LIMITS[name]
    kind = serializers.IntegerField if limit.integer else serializers.FloatField
    return kind(
        min_value=limit.low,
        max_value=limit.high,
        required=False,
        help_text=f"{limit.help_text} {limit.low:g}…{limit.high:g}.",
    )


class SandboxFaultsSerializer(serializers.Serializer):
    """A partial update: only the fields sent change. Unknown fields are refused rather than
    ignored, so a misspelt setting cannot look saved."""

    store_id = serializers.IntegerField(read_only=True)
    sandbox = serializers.CharField(read_only=True, help_text="The sandbox's slug.")
    flavor = serializers.ChoiceField(choices=Flavor.choices, read_only=True)
    fault_draws = serializers.IntegerField(
        read_only=True,
        help_text="Requests that drew from the fault sequence since the settings last changed.",
    )
    latency_ms = _field("latency_ms")
    error_rate = _field("error_rate")
    timeout_rate = _field("timeout_rate")
    timeout_hang_ms = _field("timeout_hang_ms")
    drop_rate = _field("drop_rate")
    fault_seed = _field("fault_seed")
    quota_requests = _field("quota_requests")
    quota_window_ms = _field("quota_window_ms")

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        if isinstance(self.initial_data, dict):
            unknown = sorted(set(self.initial_data) - set(self.fields))
            if unknown:
                raise serializers.ValidationError({name: "Unknown field." for name in unknown})
        return attrs
