from __future__ import annotations

from typing import Any

from rest_framework import serializers

from apps.stores import services
from apps.stores.models import Store


class StoreSerializer(serializers.ModelSerializer):
    """A store connection. `credentials` is write-only: answers carry `has_credentials` only."""

    credentials = serializers.DictField(
        child=serializers.CharField(max_length=2000),
        write_only=True,
        allow_empty=False,
        help_text="The platform's API credentials, e.g. consumer_key and consumer_secret for "
        "WooCommerce, store_hash and access_token for BigCommerce. Never returned.",
    )
    has_credentials = serializers.BooleanField(read_only=True)
    requests_per_second = serializers.FloatField(min_value=0, max_value=10_000, required=False)
    created_by = serializers.CharField(
        source="created_by.username", read_only=True, allow_null=True
    )

    class Meta:
        model = Store
        fields = [
            "id",
            "name",
            "platform",
            "base_url",
            "requests_per_second",
            "storefront_url",
            "credentials",
            "has_credentials",
            "created_by",
            "created_at",
            "updated_at",
        ]
        read_only_fields = ["id", "created_at", "updated_at"]

    def validate_platform(self, value: str) -> str:
        # Credentials are shaped by the platform; switching would leave them unusable.
        if self.instance is not None and value != self.instance.platform:
            raise serializers.ValidationError(
                "A store's platform cannot be changed; create a new store instead."
            )
        return value

    def create(self, validated_data: dict[str, Any]) -> Store:
        request = self.context["request"]
        return services.create_store(user=request.user, request=request, **validated_data)

    def update(self, instance: Store, validated_data: dict[str, Any]) -> Store:
        request = self.context["request"]
        validated_data.pop("platform", None)
        if "base_url" in validated_data:
            # create_store strips the trailing slash; keep updates consistent with it.
            validated_data["base_url"] = validated_data["base_url"].rstrip("/")
        if "storefront_url" in validated_data:
            validated_data["storefront_url"] = validated_data["storefront_url"].rstrip("/")
        return services.update_store(instance, user=request.user, request=request, **validated_data)
