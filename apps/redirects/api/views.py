"""Redirects over REST. Thin: every project comes through apps.projects.access (non-member
404, role without the capability 403); the work is in apps.redirects.services.

Reading needs VIEW. Starting collect / push / verify and uploading need START_RUN: they are
steps of running the migration (they write to the target store as a run does), which project
managers do; store and policy configuration (MANAGE) stays with admins.
"""

from __future__ import annotations

from typing import Any

from django.db.models import QuerySet
from django.http import Http404, HttpResponse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import generics, status
from rest_framework.exceptions import NotFound
from rest_framework.exceptions import ValidationError as DRFValidationError
from rest_framework.parsers import FormParser, MultiPartParser
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from apps.core.roles import Capability
from apps.projects.access import require
from apps.projects.api.common import BAD_INPUT, ErrorSerializer, IdCursorPagination, get_or_404
from apps.projects.api.views import NOT_A_MEMBER, ROLE_FORBIDS, project_or_404
from apps.redirects import services
from apps.redirects.api.serializers import (
    CoverageSerializer,
    RedirectJobSerializer,
    RedirectSerializer,
    StartJobSerializer,
    UploadSerializer,
)
from apps.redirects.choices import MapState, Origin, Problem
from apps.redirects.models import Redirect, RedirectJob
from apps.redirects.uploads import UploadRejected

BUSY = OpenApiResponse(ErrorSerializer, description="A redirects job is already under way.")
FILTERS = {"problem": Problem.values, "state": MapState.values, "origin": Origin.values}


def coverage_body(project: Any) -> dict[str, Any]:
    cover = services.coverage(project)
    return {**cover.__dict__, "message": cover.message}


@extend_schema(
    tags=["redirects"],
    summary="A project's redirects",
    parameters=[
        OpenApiParameter(name, OpenApiTypes.STR, enum=values, description=f"Only this {name}.")
        for name, values in FILTERS.items()
    ],
    responses={200: RedirectSerializer(many=True), 400: BAD_INPUT, 404: NOT_A_MEMBER},
)
class ProjectRedirectsView(generics.ListAPIView):
    serializer_class = RedirectSerializer
    pagination_class = IdCursorPagination
    ordering = "id"
    filter_backends: list[Any] = []

    def get_queryset(self) -> QuerySet[Redirect]:
        if getattr(self, "swagger_fake_view", False):
            return Redirect.objects.none()
        project = project_or_404(self.request.user, self.kwargs["project_id"])
        rows = Redirect.objects.filter(project=project)
        for name, values in FILTERS.items():
            wanted = self.request.query_params.get(name)
            if wanted is None:
                continue
            if wanted not in values and not (name == "problem" and wanted == ""):
                raise DRFValidationError({name: [f"Use one of: {', '.join(values)}."]})
            rows = rows.filter(**{name: wanted})
        return rows


@extend_schema(
    tags=["redirects"],
    summary="Redirect coverage (what the go-live gate reads)",
    responses={200: CoverageSerializer, 404: NOT_A_MEMBER},
)
class CoverageView(APIView):
    def get(self, request: Request, project_id: int) -> Response:
        project = project_or_404(request.user, project_id)
        return Response(CoverageSerializer(coverage_body(project)).data)


class ProjectJobsView(generics.ListCreateAPIView):
    pagination_class = IdCursorPagination
    ordering = "-id"
    filter_backends: list[Any] = []

    def get_serializer_class(self) -> type:
        return StartJobSerializer if self.request.method == "POST" else RedirectJobSerializer

    def get_queryset(self) -> QuerySet[RedirectJob]:
        if getattr(self, "swagger_fake_view", False):
            return RedirectJob.objects.none()
        project = project_or_404(self.request.user, self.kwargs["project_id"])
        return RedirectJob.objects.filter(project=project).select_related("created_by")

    @extend_schema(
        tags=["redirects"],
        summary="A project's redirect jobs, newest first",
        responses={200: RedirectJobSerializer(many=True), 404: NOT_A_MEMBER},
    )
    def get(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        return super().get(request, *args, **kwargs)

    @extend_schema(
        tags=["redirects"],
        summary="Start collect, push or verify (project managers and admins)",
        request=StartJobSerializer,
        responses={
            202: RedirectJobSerializer,
            400: BAD_INPUT,
            403: ROLE_FORBIDS,
            404: NOT_A_MEMBER,
            409: BUSY,
        },
    )
    def post(self, request: Request, project_id: int) -> Response:
        project = project_or_404(request.user, project_id, Capability.START_RUN)
        serializer = StartJobSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        job = services.start_job(
            project, serializer.validated_data["kind"], user=request.user, request=request
        )
        return Response(RedirectJobSerializer(job).data, status=status.HTTP_202_ACCEPTED)


@extend_schema(
    tags=["redirects"],
    summary="One redirect job: status, counts, errors",
    responses={200: RedirectJobSerializer, 404: ErrorSerializer},
)
class JobDetailView(APIView):
    def get(self, request: Request, pk: int) -> Response:
        job = get_or_404(RedirectJob.objects.select_related("project"), pk, "No such job.")
        try:
            require(request.user, job.project)
        except Http404:
            raise NotFound("No such job.") from None  # a non-member must not learn it exists
        return Response(RedirectJobSerializer(job).data)


@extend_schema(
    tags=["redirects"],
    summary="Upload old URLs: a CSV (old[, new]) or a sitemap (project managers and admins)",
    request={"multipart/form-data": UploadSerializer},
    responses={
        201: RedirectJobSerializer,
        400: BAD_INPUT,
        403: ROLE_FORBIDS,
        404: NOT_A_MEMBER,
        413: ErrorSerializer,
    },
)
class UploadView(APIView):
    parser_classes = [MultiPartParser, FormParser]

    def post(self, request: Request, project_id: int) -> Response:
        project = project_or_404(request.user, project_id, Capability.START_RUN)
        serializer = UploadSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        upload = serializer.validated_data["file"]
        if upload.size > services.uploads.MAX_UPLOAD_BYTES:
            return Response(
                {"detail": "The file is larger than 5 MB."},
                status=status.HTTP_413_REQUEST_ENTITY_TOO_LARGE,
            )
        try:
            job = services.upload(
                project,
                serializer.validated_data["kind"],
                upload.read(),
                filename=upload.name or "",
                user=request.user,
                request=request,
            )
        except UploadRejected as exc:
            return Response({"detail": str(exc)}, status=exc.status)
        return Response(RedirectJobSerializer(job).data, status=status.HTTP_201_CREATED)


@extend_schema(
    tags=["redirects"],
    summary="The redirects in the Redirection plugin's CSV import format (WooCommerce targets)",
    responses={
        (200, "text/csv"): OpenApiTypes.STR,
        404: NOT_A_MEMBER,
    },
)
class ExportView(APIView):
    def get(self, request: Request, project_id: int) -> HttpResponse:
        project = project_or_404(request.user, project_id)
        return export_response(project)


def export_response(project: Any) -> HttpResponse:
    response = HttpResponse(services.redirection_csv(project), content_type="text/csv")
    response["Content-Disposition"] = f'attachment; filename="redirection-project-{project.pk}.csv"'
    return response
