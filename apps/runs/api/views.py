from __future__ import annotations

from typing import Any

from django.db.models import QuerySet
from django.http import Http404
from drf_spectacular.utils import OpenApiResponse, extend_schema, extend_schema_view
from rest_framework import generics, status
from rest_framework.exceptions import NotFound
from rest_framework.request import Request
from rest_framework.response import Response

from apps.core.roles import Capability
from apps.projects.access import require
from apps.projects.api.common import ErrorSerializer, IdCursorPagination, get_or_404
from apps.projects.api.views import NOT_A_MEMBER, ROLE_FORBIDS, project_or_404
from apps.runs import services
from apps.runs.api.serializers import (
    BatchSerializer,
    FailureSerializer,
    RunDetailSerializer,
    RunStartSerializer,
    RunSummarySerializer,
    combined_progress,
)
from apps.runs.models import EntityBatch, RecordOutcome, Run

NO_SUCH_RUN = OpenApiResponse(
    ErrorSerializer, description="No such run, or you are not a member of its project."
)


def run_or_404(user: Any, run_id: Any, capability: str = Capability.VIEW) -> Run:
    """The run if the user's role on its project allows `capability`; a non-member gets 404 as
    if the run did not exist, a member whose role lacks the capability 403."""
    run = get_or_404(Run.objects.select_related("project", "created_by"), run_id, "No such run.")
    try:
        require(user, run.project, capability)
    except Http404:
        raise NotFound("No such run.") from None
    return run


def _detail(run: Run) -> dict[str, Any]:
    run.progress = services.entity_progress(run)
    run.totals = combined_progress(run.progress)
    return RunDetailSerializer(run).data


@extend_schema_view(
    get=extend_schema(
        summary="Runs of a project, newest first",
        responses={200: RunSummarySerializer(many=True), 404: NOT_A_MEMBER},
    ),
    post=extend_schema(
        summary="Start a run (project managers and admins)",
        request=RunStartSerializer,
        responses={
            201: RunDetailSerializer,
            403: ROLE_FORBIDS,
            404: NOT_A_MEMBER,
            409: OpenApiResponse(ErrorSerializer, description="The project has a live run."),
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
        serializer = RunStartSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        run = services.start_run(
            project, kind=serializer.validated_data["kind"], user=request.user, request=request
        )
        return Response(_detail(run), status=status.HTTP_201_CREATED)


@extend_schema(
    tags=["runs"],
    summary="A run: status, timestamps, error and progress per entity",
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
    summary="Records that failed in a run, newest first",
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
        return services.failures(run_or_404(self.request.user, self.kwargs["pk"]))


@extend_schema(
    tags=["runs"],
    summary="A run's batches in the order they were planned",
    responses={200: BatchSerializer(many=True), 404: NO_SUCH_RUN},
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
