from __future__ import annotations

from typing import Any

from django.db.models import QuerySet
from django.http import Http404
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import (
    OpenApiParameter,
    OpenApiResponse,
    extend_schema,
    extend_schema_view,
)
from rest_framework import generics, status
from rest_framework.exceptions import NotFound, PermissionDenied
from rest_framework.request import Request
from rest_framework.response import Response

from apps.core.errors import Conflict
from apps.core.roles import Capability
from apps.projects.access import can, require
from apps.projects.api.common import BAD_INPUT, ErrorSerializer, IdCursorPagination, get_or_404
from apps.projects.api.views import NOT_A_MEMBER, ROLE_FORBIDS, project_or_404
from apps.projects.models import Project
from apps.runs import metrics, reasons, rehearsals, services
from apps.runs.api.serializers import (
    BatchSerializer,
    ErrorGroupsSerializer,
    FailureSerializer,
    RetryFailedSerializer,
    RunDetailSerializer,
    RunStartSerializer,
    RunSummarySerializer,
    StartForRealSerializer,
    combined_progress,
)
from apps.runs.choices import RunKind
from apps.runs.models import EntityBatch, RecordOutcome, Run

NO_SUCH_RUN = OpenApiResponse(
    ErrorSerializer, description="No such run, or you are not a member of its project."
)


def run_or_404(user: Any, run_id: Any, capability: str = Capability.VIEW) -> Run:
    """The run if the user's role on its project allows `capability`; a non-member gets 404 as
    if the run did not exist, a member whose role lacks the capability 403."""
    run = get_or_404(
        Run.objects.select_related("project__target_store", "created_by"), run_id, "No such run."
    )
    try:
        require(user, run.project, capability)
    except Http404:
        raise NotFound("No such run.") from None
    return run


def _detail(run: Run) -> dict[str, Any]:
    figures = metrics.figures(run)
    run.progress, run.eta, run.throughput = figures.progress, figures.eta, figures.throughput
    run.totals = combined_progress(run.progress)
    run.entity_points = metrics.entity_points(run)
    run.stages = metrics.stages(run, run.progress)
    return RunDetailSerializer(run).data


def _check_override(user: Any, project: Project, override: bool) -> None:
    # Refused up front, whatever the estimate: asking for an override is an admin's act.
    if override and not can(user, project, Capability.MANAGE):
        raise PermissionDenied("Only a project admin can start a run past the points budget.")


BUDGET_OR_LIVE = OpenApiResponse(
    ErrorSerializer,
    description="The project has a live run, or the run's Entity Points estimate passes the "
    "project's points budget (the message has the numbers; an admin may override).",
)


@extend_schema_view(
    get=extend_schema(
        summary="Runs of a project, newest first",
        responses={200: RunSummarySerializer(many=True), 400: BAD_INPUT, 404: NOT_A_MEMBER},
    ),
    post=extend_schema(
        summary="Start a run (project managers and admins)",
        request=RunStartSerializer,
        responses={
            201: RunDetailSerializer,
            400: BAD_INPUT,
            403: ROLE_FORBIDS,
            404: NOT_A_MEMBER,
            409: BUDGET_OR_LIVE,
        },
    ),
)
@extend_schema(tags=["runs"])
class ProjectRunsView(generics.ListCreateAPIView):
    serializer_class = RunSummarySerializer
    pagination_class = IdCursorPagination
    ordering = "-id"
    filterset_fields = ["kind", "status"]

    def get_queryset(self) -> QuerySet[Run]:
        if getattr(self, "swagger_fake_view", False):
            return Run.objects.none()
        project = project_or_404(self.request.user, self.kwargs["project_id"])
        return project.runs.select_related("created_by")

    def create(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        project = project_or_404(request.user, self.kwargs["project_id"], Capability.START_RUN)
        serializer = RunStartSerializer(data=request.data, project=project)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        _check_override(request.user, project, data["override_budget"])
        parent = data.get("parent")
        if parent is not None and (refusal := metrics.retry_refusal(parent)):
            raise Conflict(refusal)
        run = services.start_run(
            project,
            kind=data["kind"],
            user=request.user,
            request=request,
            parent=parent,
            override_budget=data["override_budget"],
            options={key: data[key] for key in ("deletes", "of") if key in data} or None,
        )
        return Response(_detail(run), status=status.HTTP_201_CREATED)


@extend_schema(
    tags=["runs"],
    summary="A run: status, progress per entity, Entity Points, stages, ETA and throughput",
    responses={200: RunDetailSerializer, 404: NO_SUCH_RUN},
)
class RunDetailView(generics.RetrieveAPIView):
    serializer_class = RunDetailSerializer

    def retrieve(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        return Response(_detail(run_or_404(request.user, self.kwargs["pk"])))


@extend_schema(
    tags=["runs"],
    summary="Cancel a live run (project managers and admins)",
    request=None,
    responses={
        200: RunDetailSerializer,
        403: ROLE_FORBIDS,
        404: NO_SUCH_RUN,
        409: OpenApiResponse(ErrorSerializer, description="The run has already ended."),
    },
)
class RunCancelView(generics.GenericAPIView):
    serializer_class = RunDetailSerializer

    def post(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        run = run_or_404(request.user, self.kwargs["pk"], Capability.START_RUN)
        run = services.cancel_run(run, user=request.user, request=request)
        return Response(_detail(run))


@extend_schema(
    tags=["runs"],
    summary="Start a retry_failed run of this run's failed records (managers and admins)",
    request=RetryFailedSerializer,
    responses={
        201: RunDetailSerializer,
        400: BAD_INPUT,
        403: ROLE_FORBIDS,
        404: NO_SUCH_RUN,
        409: OpenApiResponse(
            ErrorSerializer,
            description="The run did not end partially failed, the project has a live run, "
            "or the retry's Entity Points pass the budget.",
        ),
    },
)
class RunRetryFailedView(generics.GenericAPIView):
    serializer_class = RetryFailedSerializer

    def post(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        run = run_or_404(request.user, self.kwargs["pk"], Capability.START_RUN)
        serializer = RetryFailedSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        override = serializer.validated_data["override_budget"]
        _check_override(request.user, run.project, override)
        if refusal := metrics.retry_refusal(run):
            raise Conflict(refusal)
        retry = services.start_run(
            run.project,
            kind=RunKind.RETRY_FAILED,
            parent=run,
            user=request.user,
            request=request,
            override_budget=override,
        )
        return Response(_detail(retry), status=status.HTTP_201_CREATED)


@extend_schema(
    tags=["runs"],
    summary="Start the run a dry run rehearsed, with its options (managers and admins)",
    request=StartForRealSerializer,
    responses={
        201: RunDetailSerializer,
        400: BAD_INPUT,
        403: ROLE_FORBIDS,
        404: NO_SUCH_RUN,
        409: OpenApiResponse(
            ErrorSerializer,
            description="The run is not a finished dry run, the project has a live run, or "
            "the run's Entity Points pass the budget.",
        ),
    },
)
class RunStartForRealView(generics.GenericAPIView):
    serializer_class = StartForRealSerializer

    def post(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        run = run_or_404(request.user, self.kwargs["pk"], Capability.START_RUN)
        serializer = StartForRealSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        override = serializer.validated_data["override_budget"]
        _check_override(request.user, run.project, override)
        real = rehearsals.start_for_real(
            run, user=request.user, request=request, override_budget=override
        )
        return Response(_detail(real), status=status.HTTP_201_CREATED)


@extend_schema(
    tags=["runs"],
    summary="Records that failed in a run, newest first; filter by entity and error group",
    parameters=[
        OpenApiParameter(
            "error",
            OpenApiTypes.STR,
            description="An error group key from /runs/{id}/errors/: only failures whose "
            "normalised reason is that key.",
        )
    ],
    responses={200: FailureSerializer(many=True), 404: NO_SUCH_RUN},
)
class RunFailuresView(generics.ListAPIView):
    serializer_class = FailureSerializer
    pagination_class = IdCursorPagination
    ordering = "-id"
    filterset_fields = ["entity"]

    def get_queryset(self) -> QuerySet[RecordOutcome]:
        if getattr(self, "swagger_fake_view", False):
            return RecordOutcome.objects.none()
        run = run_or_404(self.request.user, self.kwargs["pk"])
        error = self.request.query_params.get("error", "")
        return metrics.failures(run, error=error[: reasons.KEY_LENGTH + 1])


@extend_schema(
    tags=["runs"],
    summary="A run's failed records grouped by entity and normalised reason (largest first)",
    parameters=[
        OpenApiParameter("entity", OpenApiTypes.STR, description="Only this entity's groups.")
    ],
    responses={200: ErrorGroupsSerializer, 404: NO_SUCH_RUN},
)
class RunErrorGroupsView(generics.GenericAPIView):
    serializer_class = ErrorGroupsSerializer

    def get(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        run = run_or_404(request.user, self.kwargs["pk"])
        entity = request.query_params.get("entity", "")[:200]
        return Response(ErrorGroupsSerializer(metrics.error_groups(run, entity=entity)).data)


@extend_schema(
    tags=["runs"],
    summary="A run's batches in the order they were planned",
    responses={200: BatchSerializer(many=True), 400: BAD_INPUT, 404: NO_SUCH_RUN},
)
class RunBatchesView(generics.ListAPIView):
    serializer_class = BatchSerializer
    pagination_class = IdCursorPagination
    ordering = "id"
    filterset_fields = ["entity", "status"]

    def get_queryset(self) -> QuerySet[EntityBatch]:
        if getattr(self, "swagger_fake_view", False):
            return EntityBatch.objects.none()
        run = run_or_404(self.request.user, self.kwargs["pk"])
        return EntityBatch.objects.filter(run=run)
