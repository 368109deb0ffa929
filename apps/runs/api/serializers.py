from __future__ import annotations

import dataclasses
from typing import Any

from rest_framework import serializers

from apps.projects.api.common import BoundedPrimaryKeyRelatedField, NamedChoiceField
from apps.runs import metrics
from apps.runs.choices import SUPPORTED_KINDS, BatchStatus, RunKind, RunStatus
from apps.runs.models import EntityBatch, RecordOutcome, Run
from apps.runs.services import ROLLBACK_ELSEWHERE, EntityProgress

_KINDS = ", ".join(RunKind.values)
# A rollback is started from the project's cutover plan (golive), not here.
# Verify is executed by the reconciliation app (apps/runs/executors.py); rollback starts from
# the cutover plan.
_SUPPORTED = ", ".join(
    str(kind) for kind in (*SUPPORTED_KINDS, RunKind.VERIFY) if kind != RunKind.ROLLBACK
)


_OVERRIDE_HELP = (
    "Start even if the run's Entity Points estimate takes the project past its points budget "
    "(project admins only; audited)."
)


class RunStartSerializer(serializers.Serializer):
    kind = serializers.ChoiceField(
        choices=RunKind.choices,
        help_text=f"What to run. Available today: {_SUPPORTED}.",
        error_messages={"invalid_choice": f'"{{input}}" is not a run kind; use one of {_KINDS}.'},
    )
    override_budget = serializers.BooleanField(default=False, help_text=_OVERRIDE_HELP)
    deletes = serializers.BooleanField(
        required=False,
        help_text="delta (or a dry run of one): also look for records deleted at the source "
        "(lists every source id: a final sweep).",
    )
    of = serializers.ChoiceField(
        choices=[RunKind.FULL, RunKind.DELTA],
        required=False,
        help_text="dry_run: the kind of run it rehearses (default: delta once the project has "
        "a baseline, else full).",
    )
    parent = BoundedPrimaryKeyRelatedField(
        queryset=Run.objects.none(),
        required=False,
        allow_null=True,
        help_text=(
            "For retry_failed: the partially failed run of this project whose failed records "
            "to retry (default: the latest one)."
        ),
    )

    def __init__(self, *args: Any, project: Any = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.project = project
        # Only this project's runs can be a parent; any other id answers "does not exist".
        if project is not None:
            self.fields["parent"].queryset = project.runs.all()

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        if attrs["kind"] == RunKind.ROLLBACK:
            project_id = self.project.pk if self.project is not None else "<id>"
            raise serializers.ValidationError(
                {"kind": ROLLBACK_ELSEWHERE.format(project=project_id)}
            )
        if attrs.get("parent") is not None and attrs["kind"] != RunKind.RETRY_FAILED:
            raise serializers.ValidationError({"parent": "A parent run is only for retry_failed."})
        return attrs


class RetryFailedSerializer(serializers.Serializer):
    override_budget = serializers.BooleanField(default=False, help_text=_OVERRIDE_HELP)


class StartForRealSerializer(serializers.Serializer):
    override_budget = serializers.BooleanField(default=False, help_text=_OVERRIDE_HELP)


class ProgressCountsSerializer(serializers.Serializer):
    total = serializers.IntegerField(help_text="Records the plan found at the source.")
    processed = serializers.IntegerField()
    created = serializers.IntegerField()
    updated = serializers.IntegerField()
    unchanged = serializers.IntegerField()
    skipped = serializers.IntegerField()
    failed = serializers.IntegerField()
    merged = serializers.IntegerField(help_text="Changed on both sides and merged by policy.")
    conflicts = serializers.IntegerField(help_text="Sent to the review queue.")
    deleted = serializers.IntegerField(help_text="Deleted (or archived) at the source.")
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
    options = serializers.DictField(
        read_only=True,
        help_text='{"deletes": true} when the run also looks for records deleted at the source '
        '(a final sweep); {"of": "full" | "delta"} for a dry run: the run it rehearses.',
    )
    since = serializers.DateTimeField(
        read_only=True,
        allow_null=True,
        help_text="A delta's window starts here (the last sync's until, less the overlap).",
    )
    until = serializers.DateTimeField(
        read_only=True,
        allow_null=True,
        help_text="The window's end, taken at planning before reading: the next delta's since.",
    )

    class Meta:
        model = Run
        fields = [
            "id",
            "project",
            "kind",
            "status",
            "is_live",
            "parent",
            "options",
            "since",
            "until",
            "error",
            "points_estimate",
            "budget_override",
            "created_by",
            "created_at",
            "started_at",
            "finished_at",
        ]
        read_only_fields = fields


def combined_progress(progress: list[EntityProgress]) -> EntityProgress:
    """All entities' counters added up, so `percent` follows the same rule as per entity."""
    names = [
        field.name
        for field in dataclasses.fields(EntityProgress)
        if field.name not in ("entity", "last_finished")
    ]
    sums = {name: sum(getattr(row, name) for row in progress) for name in names}
    finished = [row.last_finished for row in progress if row.last_finished is not None]
    return EntityProgress(entity="", last_finished=max(finished, default=None), **sums)


class StageSerializer(serializers.Serializer):
    number = serializers.IntegerField(help_text="1-based, in dependency order.")
    entities = serializers.ListField(child=serializers.CharField())
    state = serializers.ChoiceField(
        choices=[metrics.StageState.DONE, metrics.StageState.RUNNING, metrics.StageState.WAITING]
    )


class QuotaSerializer(serializers.Serializer):
    requests = serializers.IntegerField()
    window_ms = serializers.FloatField()


class EtaSerializer(serializers.Serializer):
    seconds = serializers.IntegerField(help_text="Seconds until the run is expected to finish.")
    finishes_at = serializers.DateTimeField()
    basis = serializers.ChoiceField(
        choices=[
            metrics.EtaBasis.QUOTA,
            metrics.EtaBasis.OBSERVED_REQUESTS,
            metrics.EtaBasis.OBSERVED_RECORDS,
        ],
        help_text=(
            "quota: the target's request quota known to the shared rate limiter; "
            "observed_requests: this run's request rate so far; observed_records: no target "
            "requests yet, this run's record rate so far."
        ),
    )
    remaining_records = serializers.IntegerField()
    requests_per_record = serializers.FloatField(
        help_text="Target requests per record read, over the finished batches."
    )
    rate = serializers.FloatField(
        help_text="Requests per second (records per second for observed_records)."
    )
    quota = QuotaSerializer(allow_null=True)
    description = serializers.CharField()


class ThroughputBucketSerializer(serializers.Serializer):
    start = serializers.DateTimeField()
    end = serializers.DateTimeField()
    records = serializers.IntegerField(help_text="Records read by batches that ended here.")


class ThroughputSerializer(serializers.Serializer):
    start = serializers.DateTimeField()
    end = serializers.DateTimeField()
    bucket_seconds = serializers.IntegerField()
    total = serializers.IntegerField()
    peak = serializers.IntegerField()
    buckets = ThroughputBucketSerializer(many=True)


class RunDetailSerializer(RunSummarySerializer):
    """A run with its per-entity progress and figures; the view sets `progress`, `totals`,
    `stages`, `entity_points`, `eta` and `throughput` (apps.runs.api.views.detail)."""

    entities = EntityProgressSerializer(many=True, read_only=True, source="progress")
    totals = ProgressCountsSerializer(read_only=True)
    entity_points = serializers.DictField(
        child=serializers.IntegerField(),
        read_only=True,
        help_text="Entity Points per entity, estimated at planning.",
    )
    stages = StageSerializer(
        many=True,
        read_only=True,
        help_text="The plan's stages in dependency order; one runs at a time.",
    )
    eta = EtaSerializer(
        read_only=True, allow_null=True, help_text="Null when unknown or the run has ended."
    )
    throughput = ThroughputSerializer(
        read_only=True, allow_null=True, help_text="Null before the run has started."
    )

    class Meta(RunSummarySerializer.Meta):
        fields = [
            *RunSummarySerializer.Meta.fields,
            "entities",
            "totals",
            "entity_points",
            "stages",
            "eta",
            "throughput",
        ]
        read_only_fields = fields


class ErrorGroupSerializer(serializers.Serializer):
    entity = serializers.CharField()
    error = serializers.CharField(
        source="key",
        help_text="The group key: the reason with values and numbers blanked. Pass it as "
        "?error= to the failures list.",
    )
    count = serializers.IntegerField()


class ErrorGroupsSerializer(serializers.Serializer):
    groups = ErrorGroupSerializer(many=True, help_text="The largest groups first (at most 20).")
    sampled = serializers.BooleanField(
        help_text="True when the run has more failures than were counted: the counts are of "
        "the newest ones."
    )


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
            "requests",
            "error",
            "lease_owner",
            "lease_expires_at",
            "queued_at",
            "started_at",
            "finished_at",
        ]
        read_only_fields = fields
