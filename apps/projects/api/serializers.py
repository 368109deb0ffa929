from __future__ import annotations

from typing import Any

from django.contrib.auth import get_user_model
from django.db.models import QuerySet
from rest_framework import serializers

from apps.core.roles import Role
from apps.projects import cleansing, mapping, services
from apps.projects.access import can_manage_store, visible_stores
from apps.projects.api.common import BoundedPrimaryKeyRelatedField
from apps.projects.models import ENTITY_CHOICES, Membership, Project
from apps.runs.api.serializers import RunSummarySerializer
from apps.stores.models import Store


class VisibleStoreField(BoundedPrimaryKeyRelatedField):
    """A store id; stores the requesting user cannot see answer like ids that do not exist."""

    def get_queryset(self) -> QuerySet[Store]:
        request = self.context.get("request")
        return visible_stores(getattr(request, "user", None))


class ProjectSerializer(serializers.ModelSerializer):
    source_store = VisibleStoreField()
    target_store = VisibleStoreField()
    entities = serializers.ListField(
        child=serializers.ChoiceField(choices=ENTITY_CHOICES),
        allow_empty=False,
        required=False,
        help_text="Entity types in scope; defaults to products.",
    )
    role = serializers.ChoiceField(
        choices=Role.choices,
        source="user_role",
        read_only=True,
        help_text="Your role on this project.",
    )
    created_by = serializers.CharField(
        source="created_by.username", read_only=True, allow_null=True
    )

    class Meta:
        model = Project
        fields = [
            "id",
            "name",
            "source_store",
            "target_store",
            "entities",
            "role",
            "created_by",
            "created_at",
        ]
        read_only_fields = ["id", "created_at"]

    def _check_may_use(self, store: Store) -> Store:
        # Whoever creates a project becomes its admin, and a project admin may edit the stores
        # the project uses. Without this check a merchandiser who can merely see a store could
        # make a project around it and then rewrite its credentials or base URL.
        if not can_manage_store(self.context["request"].user, store):
            raise serializers.ValidationError(
                "Only the store's creator or an admin of a project using it may use it in a new "
                "project."
            )
        return store

    def validate_source_store(self, store: Store) -> Store:
        return self._check_may_use(store)

    def validate_target_store(self, store: Store) -> Store:
        return self._check_may_use(store)

    def create(self, validated_data: dict[str, Any]) -> Project:
        request = self.context["request"]
        return services.create_project(user=request.user, request=request, **validated_data)


class ProjectDetailSerializer(ProjectSerializer):
    latest_run = RunSummarySerializer(read_only=True, allow_null=True)

    class Meta(ProjectSerializer.Meta):
        fields = [*ProjectSerializer.Meta.fields, "latest_run"]


class MemberSerializer(serializers.ModelSerializer):
    username = serializers.SlugRelatedField(
        source="user",
        slug_field="username",
        queryset=get_user_model().objects.filter(is_active=True),
        error_messages={"does_not_exist": "There is no active user named {value}."},
    )
    role = serializers.ChoiceField(choices=Role.choices)

    class Meta:
        model = Membership
        fields = ["username", "role", "created_at"]
        read_only_fields = ["created_at"]


class ProjectSettingsSerializer(serializers.Serializer):
    """A project's settings. Types are checked here; the rules (known entities and cleansing
    rules, mapping transforms, budget ≥ 0) in services.update_settings, shared with the page."""

    entities = serializers.ListField(
        child=serializers.CharField(max_length=40),
        allow_empty=True,
        required=False,
        help_text="Entity types in scope: " + ", ".join(key for key, _ in ENTITY_CHOICES) + ".",
    )
    points_budget = serializers.IntegerField(
        allow_null=True,
        required=False,
        help_text="Entity Points the project's runs may spend; null: no cap.",
    )
    entity_weights = serializers.DictField(
        child=serializers.IntegerField(),
        required=False,
        help_text="Entity Points per record, per entity (overrides the defaults).",
    )
    cleansing = serializers.DictField(
        child=serializers.BooleanField(),
        required=False,
        help_text="Cleansing rules switched on or off: " + ", ".join(cleansing.DEFAULTS) + ".",
    )
    field_mappings = serializers.DictField(
        required=False,
        help_text='Per entity and target field: {"products": {"name": {"from": "name", '
        '"transforms": ["trim"]}}}. Transforms: ' + mapping.TRANSFORMS_HELP + ".",
    )
