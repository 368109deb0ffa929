"""Reconciliation over REST: the latest report of a project, a report with its entity rows,
its items (paginated, by entity and kind), a CSV of the items, and the important-records list.
Thin: access through apps.projects.access (non-member 404, role without the capability 403),
logic in apps.reconciliation.services. A verify run is started by the runs API
(POST /api/v1/projects/<id>/runs/ with {"kind": "verify"})."""

from __future__ import annotations

from typing import Any

from django.db.models import QuerySet
from django.http import Http404, StreamingHttpResponse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import (
    OpenApiParameter,
    OpenApiResponse,
    extend_schema,
    extend_schema_view,
)
from rest_framework import generics, status
from rest_framework.exceptions import NotFound
from rest_framework.exceptions import ValidationError as DRFValidationError
from rest_framework.renderers import BaseRenderer, JSONRenderer
from rest_framework.request import Request
from rest_framework.response import Response

from apps.core.roles import Capability
from apps.projects.access import require
from apps.projects.api.common import ErrorSerializer, IdCursorPagination, get_or_404
from apps.projects.api.views import NOT_A_MEMBER, ROLE_FORBIDS, project_or_404
from apps.reconciliation import services
from apps.reconciliation.api.serializers import (
    ImportantRecordChangeSerializer,
    ImportantRecordSerializer,
    ItemSerializer,
    ReportSerializer,
)
from apps.reconciliation.choices import ItemKind
from apps.reconciliation.models import ImportantRecord, ReconciliationItem, ReconciliationReport

NO_SUCH_REPORT = OpenApiResponse(
    ErrorSerializer, description="No such report, or you are not a member of its project."
)
NO_SUCH_RECORD = OpenApiResponse(
    ErrorSerializer, description="No such important record, or you are not a member."
)


def report_or_404(user: Any, pk: Any) -> ReconciliationReport:
    report = get_or_404(
        ReconciliationReport.objects.select_related("run", "project"), pk, "No such report."
    )
    try:
        require(user, report.project, Capability.VIEW)
    except Http404:
        raise NotFound("No such report.") from None
    return report


def important_or_404(user: Any, pk: Any, capability: str) -> ImportantRecord:
    record = get_or_404(
        ImportantRecord.objects.select_related("project", "created_by"),
        pk,
        "No such important record.",
    )
    try:
        require(user, record.project, capability)
    except Http404:
        raise NotFound("No such important record.") from None
    return record


@extend_schema(
    tags=["reconciliation"],
    summary="The project's latest finished verify report, with its entity rows",
    responses={200: ReportSerializer, 404: NOT_A_MEMBER},
)
class LatestReportView(generics.GenericAPIView):
    serializer_class = ReportSerializer

    def get(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        project = project_or_404(request.user, self.kwargs["project_id"])
        report = services.latest_report(project)
        if report is None:
            raise NotFound("No finished verify run yet: start a run of kind verify.")
        return Response(ReportSerializer(report).data)


@extend_schema(
    tags=["reconciliation"],
    summary="A reconciliation report: totals, per-entity counts and the equation",
    responses={200: ReportSerializer, 404: NO_SUCH_REPORT},
)
class ReportDetailView(generics.GenericAPIView):
    serializer_class = ReportSerializer

    def get(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        return Response(ReportSerializer(report_or_404(request.user, self.kwargs["pk"])).data)


@extend_schema(
    tags=["reconciliation"],
    summary="A report's items: mismatches with field diffs, missing, orphans, failed, "
    "exclusions, spot checks",
    parameters=[
        OpenApiParameter("entity", OpenApiTypes.STR, description="Only this entity."),
        OpenApiParameter(
            "kind", OpenApiTypes.STR, enum=ItemKind.values, description="Only this kind."
        ),
    ],
    responses={
        200: ItemSerializer(many=True),
        400: OpenApiResponse(description="Bad filter."),
        404: NO_SUCH_REPORT,
    },
)
class ReportItemsView(generics.ListAPIView):
    serializer_class = ItemSerializer
    pagination_class = IdCursorPagination
    ordering = "id"
    filter_backends: list[Any] = []

    def get_queryset(self) -> QuerySet[ReconciliationItem]:
        if getattr(self, "swagger_fake_view", False):
            return ReconciliationItem.objects.none()
        report = report_or_404(self.request.user, self.kwargs["pk"])
        items = report.items.all()
        params = self.request.query_params
        kind = params.get("kind", "")
        if kind:
            if kind not in ItemKind.values:
                raise DRFValidationError({"kind": [f"Use one of: {', '.join(ItemKind.values)}."]})
            items = items.filter(kind=kind)
        entity = params.get("entity", "")[:40]
        if entity:
            items = items.filter(entity=entity)
        return items


class CsvRenderer(BaseRenderer):
    """Lets `Accept: text/csv` through; an error body is rendered as JSON text."""

    media_type = "text/csv"
    format = "csv"
    charset = "utf-8"

    def render(self, data: Any, accepted_media_type: Any = None, renderer_context: Any = None):
        return JSONRenderer().render(data)


@extend_schema(
    tags=["reconciliation"],
    summary="Every item of a report as CSV (one row per field diff)",
    responses={(200, "text/csv"): OpenApiTypes.STR, 404: NO_SUCH_REPORT},
)
class ReportCsvView(generics.GenericAPIView):
    serializer_class = ItemSerializer
    # A client asking for text/csv must not be refused by content negotiation (406).
    renderer_classes = [JSONRenderer, CsvRenderer]

    def get(self, request: Request, *args: Any, **kwargs: Any) -> StreamingHttpResponse:
        report = report_or_404(request.user, self.kwargs["pk"])
        return csv_response(report)


def csv_response(report: ReconciliationReport) -> StreamingHttpResponse:
    response = StreamingHttpResponse(services.csv_lines(report), content_type="text/csv")
    response["Content-Disposition"] = (
        f'attachment; filename="reconciliation-{report.project_id}-run-{report.run_id}.csv"'
    )
    return response


@extend_schema_view(
    get=extend_schema(
        summary="The project's important records (deep spot checks of every verify run)",
        responses={200: ImportantRecordSerializer(many=True), 404: NOT_A_MEMBER},
    ),
    post=extend_schema(
        summary="Add an important record (admins)",
        responses={
            201: ImportantRecordSerializer,
            400: OpenApiResponse(description="A message per field."),
            403: ROLE_FORBIDS,
            404: NOT_A_MEMBER,
        },
    ),
)
@extend_schema(tags=["reconciliation"])
class ImportantRecordsView(generics.ListCreateAPIView):
    serializer_class = ImportantRecordSerializer
    pagination_class = IdCursorPagination
    ordering = "id"
    filter_backends: list[Any] = []

    def get_queryset(self) -> QuerySet[ImportantRecord]:
        if getattr(self, "swagger_fake_view", False):
            return ImportantRecord.objects.none()
        project = project_or_404(self.request.user, self.kwargs["project_id"])
        return project.important_records.select_related("created_by")

    def create(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        project = project_or_404(request.user, self.kwargs["project_id"], Capability.MANAGE)
        serializer = ImportantRecordSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        record = services.add_important_record(
            project, user=request.user, request=request, **serializer.validated_data
        )
        return Response(ImportantRecordSerializer(record).data, status=status.HTTP_201_CREATED)


@extend_schema_view(
    get=extend_schema(
        summary="An important record",
        responses={200: ImportantRecordSerializer, 404: NO_SUCH_RECORD},
    ),
    patch=extend_schema(
        summary="Change an important record's note (admins)",
        request=ImportantRecordChangeSerializer,
        responses={
            200: ImportantRecordSerializer,
            400: OpenApiResponse(description="A message per field."),
            403: ROLE_FORBIDS,
            404: NO_SUCH_RECORD,
        },
    ),
    delete=extend_schema(
        summary="Remove an important record (admins)",
        responses={204: None, 403: ROLE_FORBIDS, 404: NO_SUCH_RECORD},
    ),
)
@extend_schema(tags=["reconciliation"])
class ImportantRecordDetailView(generics.GenericAPIView):
    serializer_class = ImportantRecordSerializer

    def get(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        record = important_or_404(request.user, self.kwargs["pk"], Capability.VIEW)
        return Response(ImportantRecordSerializer(record).data)

    def patch(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        record = important_or_404(request.user, self.kwargs["pk"], Capability.MANAGE)
        serializer = ImportantRecordChangeSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        services.update_important_record(
            record, note=serializer.validated_data["note"], user=request.user, request=request
        )
        return Response(ImportantRecordSerializer(record).data)

    def delete(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        record = important_or_404(request.user, self.kwargs["pk"], Capability.MANAGE)
        services.remove_important_record(record, user=request.user, request=request)
        return Response(status=status.HTTP_204_NO_CONTENT)
