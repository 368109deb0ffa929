"""REST endpoints for a project's schedules and its lag behind the source.

Schedules: project managers and admins read them, admins create, change and delete them (the
service keeps django-celery-beat's PeriodicTask in step and audits). Lag: any member.
"""

from __future__ import annotations

from typing import Any

from django.db.models import QuerySet
from django.http import Http404
from django.utils import timezone
from drf_spectacular.utils import OpenApiResponse, extend_schema, extend_schema_view
from rest_framework import generics, serializers, status
from rest_framework.exceptions import NotFound
from rest_framework.request import Request
from rest_framework.response import Response

from apps.core.roles import Capability
from apps.projects.access import require
from apps.projects.api.common import (
    ErrorSerializer,
    IdCursorPagination,
    NamedChoiceField,
    get_or_404,
)
from apps.projects.api.views import NOT_A_MEMBER, ROLE_FORBIDS, project_or_404
from apps.runs import lag, schedules
from apps.runs.choices import RunKind
from apps.runs.models import Schedule

NO_SUCH_SCHEDULE = OpenApiResponse(
    ErrorSerializer, description="No such schedule, or you are not a member of its project."
)
INVALID = OpenApiResponse(description="A setting is invalid: messages per field.")

_KINDS = [(RunKind.DELTA, "Delta sync"), (RunKind.DRY_RUN, "Dry run")]
_OF = [(RunKind.DELTA, "Delta sync"), (RunKind.FULL, "Full migration")]


class ScheduleSerializer(serializers.ModelSerializer):
    """A schedule as stored, with `when` in words, the next firing and the last outcome."""

    kind = NamedChoiceField(enum_name="ScheduleKindEnum", choices=_KINDS, read_only=True)
    trigger = NamedChoiceField(
        enum_name="ScheduleTriggerEnum", choices=Schedule.Trigger.choices, read_only=True
    )
    when = serializers.CharField(read_only=True, help_text="How it fires, in words.")
    next_run_at = serializers.DateTimeField(
        read_only=True,
        allow_null=True,
        help_text="When beat should fire it next (an estimate for intervals); null when "
        "disabled or a one-off has fired.",
    )
    last_outcome = serializers.CharField(
        read_only=True,
        help_text='What the last firing did: "started run #N", or "refused: …" (e.g. the '
        "project already had a run in progress).",
    )
    beat_task = serializers.CharField(
        source="periodic_task.name",
        read_only=True,
        allow_null=True,
        help_text="The django-celery-beat PeriodicTask kept in step with this schedule.",
    )
    created_by = serializers.CharField(
        source="created_by.username", read_only=True, allow_null=True
    )

    class Meta:
        model = Schedule
        fields = [
            "id",
            "project",
            "name",
            "kind",
            "options",
            "trigger",
            "every",
            "period",
            "crontab",
            "run_at",
            "enabled",
            "when",
            "next_run_at",
            "fires",
            "last_fired_at",
            "last_run",
            "last_outcome",
            "beat_task",
            "created_by",
            "created_at",
            "updated_at",
        ]
        read_only_fields = fields


class ScheduleWriteSerializer(serializers.Serializer):
    """Create (kind and trigger required) or change (any subset) a schedule."""

    name = serializers.CharField(
        max_length=120, required=False, allow_blank=True, help_text="Empty: a name is made."
    )
    kind = NamedChoiceField(
        enum_name="ScheduleKindEnum",
        choices=_KINDS,
        help_text="delta, or dry_run (a plan that writes nothing).",
    )
    deletes = serializers.BooleanField(
        required=False, help_text="Also look for records deleted at the source (a final sweep)."
    )
    of = NamedChoiceField(
        enum_name="ScheduleOfEnum",
        choices=_OF,
        required=False,
        help_text="dry_run: the kind of run it rehearses (default delta).",
    )
    trigger = NamedChoiceField(
        enum_name="ScheduleTriggerEnum",
        choices=Schedule.Trigger.choices,
        help_text="interval (every + period), crontab, or once (run_at, or go_live + after_hours).",
    )
    every = serializers.IntegerField(min_value=1, max_value=1_000_000, required=False)
    period = NamedChoiceField(
        enum_name="SchedulePeriodEnum", choices=Schedule.Period.choices, required=False
    )
    crontab = serializers.CharField(
        max_length=120,
        required=False,
        allow_blank=True,
        help_text='Five fields in UTC: "minute hour day-of-month month day-of-week".',
    )
    run_at = serializers.DateTimeField(required=False, allow_null=True)
    go_live = serializers.DateTimeField(
        required=False, help_text='With after_hours: "24 hours after go-live".'
    )
    after_hours = serializers.IntegerField(min_value=0, max_value=24 * 366, required=False)
    enabled = serializers.BooleanField(required=False)


class _ChangedRecordsSerializer(serializers.Serializer):
    entity = serializers.CharField()
    watermark = serializers.DateTimeField(
        allow_null=True, help_text="The `until` of the last sync run that covered the entity."
    )
    watermark_run = serializers.IntegerField(source="watermark_run_id", allow_null=True)
    age_seconds = serializers.FloatField(allow_null=True)
    method = serializers.ChoiceField(
        choices=[
            lag.Method.CHANGES,
            lag.Method.HASH_SCAN,
            lag.Method.NOT_SYNCED,
            lag.Method.UNREACHABLE,
        ],
        help_text="changes: counted from the platform's list of changed records; hash_scan: "
        "the platform cannot list changes (a delta reads all and compares hashes).",
    )
    changed = serializers.IntegerField(
        allow_null=True, help_text="Source records changed since the watermark (null: unknown)."
    )
    more = serializers.BooleanField(help_text="At least `changed`: the first page was full.")
    changed_label = serializers.CharField()
    pending_events = serializers.IntegerField(help_text="Webhook events waiting for a delta.")


class LagSerializer(serializers.Serializer):
    checked_at = serializers.DateTimeField(help_text="When the source was asked (cached 60 s).")
    error = serializers.CharField(help_text='"source unreachable: …", or empty.')
    entities = _ChangedRecordsSerializer(many=True)


def _decorate(schedule: Schedule) -> Schedule:
    schedule.when = schedules.when(schedule)
    schedule.next_run_at = schedules.next_fire_at(schedule)
    return schedule


def schedule_or_404(user: Any, schedule_id: Any, capability: str) -> Schedule:
    """The schedule if the user's role on its project allows `capability`; a non-member gets
    404 as if it did not exist."""
    schedule = get_or_404(
        Schedule.objects.select_related("project", "periodic_task", "created_by"),
        schedule_id,
        "No such schedule.",
    )
    try:
        require(user, schedule.project, capability)
    except Http404:
        raise NotFound("No such schedule.") from None
    return schedule


def _options(data: dict[str, Any], current: dict[str, Any] | None = None) -> dict[str, Any]:
    options = dict(current or {})
    for key in ("deletes", "of"):
        if key in data:
            options[key] = data[key]
    return options


@extend_schema_view(
    get=extend_schema(
        summary="A project's schedules (project managers and admins)",
        responses={200: ScheduleSerializer(many=True), 403: ROLE_FORBIDS, 404: NOT_A_MEMBER},
    ),
    post=extend_schema(
        summary="Schedule deltas or dry runs: every N minutes/hours, a crontab, or once "
        "(admins; audited)",
        request=ScheduleWriteSerializer,
        responses={201: ScheduleSerializer, 400: INVALID, 403: ROLE_FORBIDS, 404: NOT_A_MEMBER},
    ),
)
@extend_schema(tags=["schedules"])
class ProjectSchedulesView(generics.ListCreateAPIView):
    serializer_class = ScheduleSerializer
    pagination_class = IdCursorPagination
    ordering = "id"

    def get_queryset(self) -> QuerySet[Schedule]:
        if getattr(self, "swagger_fake_view", False):
            return Schedule.objects.none()
        project = project_or_404(self.request.user, self.kwargs["project_id"], Capability.START_RUN)
        return project.schedules.select_related("periodic_task", "created_by")

    def list(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        page = self.paginate_queryset(self.get_queryset())
        rows = [_decorate(schedule) for schedule in page or []]
        return self.get_paginated_response(ScheduleSerializer(rows, many=True).data)

    def create(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        project = project_or_404(request.user, self.kwargs["project_id"], Capability.MANAGE)
        serializer = ScheduleWriteSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = dict(serializer.validated_data)
        options = _options(data)
        data.pop("deletes", None)
        data.pop("of", None)
        schedule = schedules.create_schedule(
            project, user=request.user, request=request, options=options, **data
        )
        return Response(
            ScheduleSerializer(_decorate(schedule)).data, status=status.HTTP_201_CREATED
        )


@extend_schema_view(
    get=extend_schema(
        summary="A schedule, with its next firing and what the last one did",
        responses={200: ScheduleSerializer, 403: ROLE_FORBIDS, 404: NO_SUCH_SCHEDULE},
    ),
    patch=extend_schema(
        summary="Change a schedule — its run, its timing, enabled (admins; audited)",
        request=ScheduleWriteSerializer,
        responses={
            200: ScheduleSerializer,
            400: INVALID,
            403: ROLE_FORBIDS,
            404: NO_SUCH_SCHEDULE,
        },
    ),
    delete=extend_schema(
        summary="Delete a schedule and its beat task (admins; audited)",
        responses={204: None, 403: ROLE_FORBIDS, 404: NO_SUCH_SCHEDULE},
    ),
)
@extend_schema(tags=["schedules"])
class ScheduleDetailView(generics.GenericAPIView):
    serializer_class = ScheduleSerializer

    def get(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        schedule = schedule_or_404(request.user, self.kwargs["pk"], Capability.START_RUN)
        return Response(ScheduleSerializer(_decorate(schedule)).data)

    def patch(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        schedule = schedule_or_404(request.user, self.kwargs["pk"], Capability.MANAGE)
        serializer = ScheduleWriteSerializer(data=request.data, partial=True)
        serializer.is_valid(raise_exception=True)
        changes = dict(serializer.validated_data)
        if "deletes" in changes or "of" in changes:
            changes["options"] = _options(changes, schedule.options)
        changes.pop("deletes", None)
        changes.pop("of", None)
        schedule = schedules.update_schedule(
            schedule, user=request.user, request=request, **changes
        )
        return Response(ScheduleSerializer(_decorate(schedule)).data)

    def delete(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        schedule = schedule_or_404(request.user, self.kwargs["pk"], Capability.MANAGE)
        schedules.delete_schedule(schedule, user=request.user, request=request)
        return Response(status=status.HTTP_204_NO_CONTENT)


@extend_schema(
    tags=["projects"],
    summary="How far the target is behind the source, per entity (cached 60 s)",
    responses={200: LagSerializer, 404: NOT_A_MEMBER},
)
class ProjectLagView(generics.GenericAPIView):
    serializer_class = LagSerializer

    def get(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        project = project_or_404(request.user, self.kwargs["project_id"])
        result = lag.project_lag(project)
        now = timezone.now()
        entities = [
            {
                **row.__dict__,
                "age_seconds": row.age_seconds(now),
                "changed_label": row.changed_label,
            }
            for row in result.entities
        ]
        return Response(
            LagSerializer(
                {"checked_at": result.checked_at, "error": result.error, "entities": entities}
            ).data
        )
