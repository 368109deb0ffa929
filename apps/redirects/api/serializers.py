from __future__ import annotations

from rest_framework import serializers

from apps.projects.api.common import NamedChoiceField
from apps.redirects.choices import JobKind, JobStatus, MapState, Origin, Problem
from apps.redirects.models import Redirect, RedirectJob


class HopSerializer(serializers.Serializer):
    url = serializers.CharField()
    status = serializers.IntegerField(allow_null=True)
    location = serializers.CharField(allow_blank=True)


class RedirectSerializer(serializers.ModelSerializer):
    hops = HopSerializer(many=True, read_only=True)
    origin = NamedChoiceField(
        enum_name="RedirectOriginEnum", choices=Origin.choices, read_only=True
    )
    state = NamedChoiceField(
        enum_name="RedirectStateEnum", choices=MapState.choices, read_only=True
    )
    problem = NamedChoiceField(
        enum_name="RedirectProblemEnum",
        choices=[("", "Not checked"), *Problem.choices],
        read_only=True,
    )

    class Meta:
        model = Redirect
        fields = [
            "id",
            "old_path",
            "new_url",
            "entity",
            "source_id",
            "target_id",
            "origin",
            "state",
            "push_error",
            "target_redirect_id",
            "pushed_at",
            "hops",
            "final_status",
            "problem",
            "problem_detail",
            "checked_at",
        ]
        read_only_fields = fields


class RedirectJobSerializer(serializers.ModelSerializer):
    created_by = serializers.CharField(
        source="created_by.username", read_only=True, allow_null=True
    )
    counts = serializers.DictField(child=serializers.IntegerField(), read_only=True)
    errors = serializers.ListField(child=serializers.DictField(), read_only=True)
    kind = NamedChoiceField(
        enum_name="RedirectJobKindEnum", choices=JobKind.choices, read_only=True
    )
    status = NamedChoiceField(
        enum_name="RedirectJobStatusEnum", choices=JobStatus.choices, read_only=True
    )

    class Meta:
        model = RedirectJob
        fields = [
            "id",
            "kind",
            "status",
            "counts",
            "errors",
            "error",
            "filename",
            "created_by",
            "created_at",
            "started_at",
            "finished_at",
        ]
        read_only_fields = fields


class StartJobSerializer(serializers.Serializer):
    kind = NamedChoiceField(
        enum_name="RedirectJobStartEnum",
        choices=[JobKind.COLLECT, JobKind.PUSH, JobKind.VERIFY],
        help_text="collect: old URLs from the source; push: to the target (BigCommerce API, "
        "or the export file for WooCommerce); verify: request each old URL on the target.",
    )


class UploadSerializer(serializers.Serializer):
    kind = NamedChoiceField(enum_name="RedirectUploadKindEnum", choices=["csv", "sitemap"])
    file = serializers.FileField(
        help_text="CSV: old URL[, new URL] per row. Sitemap: <urlset><url><loc>. At most 5 MB."
    )


class CoverageSerializer(serializers.Serializer):
    total = serializers.IntegerField()
    verified_ok = serializers.IntegerField()
    ratio = serializers.FloatField()
    chains = serializers.IntegerField()
    loops = serializers.IntegerField()
    unmapped = serializers.IntegerField()
    not_verified = serializers.IntegerField()
    checked_at = serializers.DateTimeField(allow_null=True)
    message = serializers.CharField()
