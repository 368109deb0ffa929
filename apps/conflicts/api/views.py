"""The review queue over REST: list, read with the diff, resolve, resolve a delete, dismiss,
bulk-resolve. Thin: access through apps.projects.access (non-member 404, role without
RESOLVE_CONFLICT 403), everything else in apps.conflicts.services. Errors: 400 with a message
per field for bad choices, 409 for a conflict already closed / being resolved / refreshed /
whose target changed, 503 when the target store cannot be reached."""

from __future__ import annotations

from typing import Any

from django.db.models import QuerySet
from django.http import Http404
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import generics, status
from rest_framework.exceptions import APIException, NotFound
from rest_framework.exceptions import ValidationError as DRFValidationError
from rest_framework.request import Request
from rest_framework.response import Response

from apps.conflicts import services
from apps.conflicts.api.serializers import (
    BulkResolveSerializer,
    BulkResultSerializer,
    ConflictDetailSerializer,
    ConflictSerializer,
    DismissSerializer,
    ResolveDeleteSerializer,
    ResolveSerializer,
    conflict_detail,
)
from apps.conflicts.choices import ConflictStatus
from apps.conflicts.models import Conflict
from apps.core.roles import Capability
from apps.projects.access import require
from apps.projects.api.common import ErrorSerializer, IdCursorPagination, get_or_404
from apps.projects.api.views import NOT_A_MEMBER, ROLE_FORBIDS, project_or_404

NO_SUCH_CONFLICT = OpenApiResponse(
    ErrorSerializer, description="No such conflict, or you are not a member of its project."
)
BAD_CHOICES = OpenApiResponse(
    description="A message per field: a conflicting field without a choice, a side that is "
    "not source / target / custom, a typed value of the wrong type, or the target store "
    "refused the record (`target`)."
)
NOT_NOW = OpenApiResponse(
    ErrorSerializer,
    description="Already resolved or dismissed (by whom, when), being resolved by someone "
    "else right now, refreshed since the version you sent, or the record changed on the "
    "target since the conflict was detected (the conflict now shows the new values; reload).",
)
UNREACHABLE = OpenApiResponse(
    ErrorSerializer, description="The target store could not be reached; nothing changed."
)


class TargetUnavailableError(APIException):
    status_code = status.HTTP_503_SERVICE_UNAVAILABLE
    default_detail = "The target store could not be reached."
    default_code = "target_unavailable"


def conflict_or_404(user: Any, pk: Any, capability: str = Capability.VIEW) -> Conflict:
    conflict = get_or_404(
        Conflict.objects.select_related(
            "project__target_store", "resolved_by", "claimed_by", "run"
        ),
        pk,
        "No such conflict.",
    )
    try:
        require(user, conflict.project, capability)
    except Http404:
        raise NotFound("No such conflict.") from None
    return conflict


def _calling_target(call: Any) -> Any:
    try:
        return call()
    except services.TargetUnavailable as exc:
        raise TargetUnavailableError(str(exc)) from None


@extend_schema(
    tags=["conflicts"],
    summary="A project's review queue, oldest first",
    parameters=[
        OpenApiParameter("entity", OpenApiTypes.STR, description="Only this entity."),
        OpenApiParameter("field", OpenApiTypes.STR, description="Only conflicts on this field."),
        OpenApiParameter(
            "status",
            OpenApiTypes.STR,
            enum=ConflictStatus.values,
            description="open (the default), resolved or dismissed.",
        ),
        OpenApiParameter(
            "older_than",
            OpenApiTypes.STR,
            description='Detected before: a duration ("90m", "1h", "7d", "2w", or seconds) '
            "ago, or an ISO 8601 moment.",
        ),
    ],
    responses={200: ConflictSerializer(many=True), 400: BAD_CHOICES, 404: NOT_A_MEMBER},
)
class ProjectConflictsView(generics.ListAPIView):
    serializer_class = ConflictSerializer
    pagination_class = IdCursorPagination
    ordering = "id"
    filter_backends: list[Any] = []

    def get_queryset(self) -> QuerySet[Conflict]:
        if getattr(self, "swagger_fake_view", False):
            return Conflict.objects.none()
        project = project_or_404(self.request.user, self.kwargs["project_id"])
        params = self.request.query_params
        wanted = params.get("status") or ConflictStatus.OPEN
        if wanted not in ConflictStatus.values:
            raise DRFValidationError(
                {"status": [f"Use one of: {', '.join(ConflictStatus.values)}."]}
            )
        try:
            older_than = services.parse_age(params.get("older_than", "")[:64])
        except ValueError as exc:
            raise DRFValidationError({"older_than": [str(exc)]}) from None
        queryset = services.filter_conflicts(
            Conflict.objects.filter(project=project, status=wanted),
            entity=params.get("entity", "")[:40],
            field=params.get("field", "")[:100],
            older_than=older_than,
        )
        return queryset.select_related("resolved_by", "claimed_by").defer(
            "base", "source", "source_resolved", "target", "merged"
        )


@extend_schema(
    tags=["conflicts"],
    summary="One conflict: base, source, target and merged versions with the per-field diff",
    responses={200: ConflictDetailSerializer, 404: NO_SUCH_CONFLICT},
)
class ConflictDetailView(generics.GenericAPIView):
    serializer_class = ConflictDetailSerializer

    def get(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        return Response(conflict_detail(conflict_or_404(request.user, self.kwargs["pk"])))


@extend_schema(
    tags=["conflicts"],
    summary="Resolve an edit conflict: choose a side or a value for every conflicting field "
    "(merchandisers and admins)",
    request=ResolveSerializer,
    responses={
        200: ConflictDetailSerializer,
        400: BAD_CHOICES,
        403: ROLE_FORBIDS,
        404: NO_SUCH_CONFLICT,
        409: NOT_NOW,
        503: UNREACHABLE,
    },
)
class ConflictResolveView(generics.GenericAPIView):
    serializer_class = ResolveSerializer

    def post(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        conflict = conflict_or_404(request.user, self.kwargs["pk"], Capability.RESOLVE_CONFLICT)
        serializer = ResolveSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        _calling_target(
            lambda: services.resolve(
                conflict,
                user=request.user,
                choices=data["choices"],
                request=request,
                seen_version=data.get("version"),
            )
        )
        return Response(conflict_detail(conflict))


@extend_schema(
    tags=["conflicts"],
    summary="Resolve a record deleted at the source: delete, keep or archive it on the target "
    "(merchandisers and admins)",
    request=ResolveDeleteSerializer,
    responses={
        200: ConflictDetailSerializer,
        400: BAD_CHOICES,
        403: ROLE_FORBIDS,
        404: NO_SUCH_CONFLICT,
        409: NOT_NOW,
        503: UNREACHABLE,
    },
)
class ConflictResolveDeleteView(generics.GenericAPIView):
    serializer_class = ResolveDeleteSerializer

    def post(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        conflict = conflict_or_404(request.user, self.kwargs["pk"], Capability.RESOLVE_CONFLICT)
        serializer = ResolveDeleteSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        action = serializer.validated_data["action"]
        _calling_target(
            lambda: services.resolve_delete(
                conflict, user=request.user, action=action, request=request
            )
        )
        return Response(conflict_detail(conflict))


@extend_schema(
    tags=["conflicts"],
    summary="Dismiss a conflict without writing anything (merchandisers and admins)",
    request=DismissSerializer,
    responses={
        200: ConflictDetailSerializer,
        400: BAD_CHOICES,
        403: ROLE_FORBIDS,
        404: NO_SUCH_CONFLICT,
        409: NOT_NOW,
    },
)
class ConflictDismissView(generics.GenericAPIView):
    serializer_class = DismissSerializer

    def post(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        conflict = conflict_or_404(request.user, self.kwargs["pk"], Capability.RESOLVE_CONFLICT)
        serializer = DismissSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        services.dismiss(
            conflict, request.user, serializer.validated_data["reason"], request=request
        )
        return Response(conflict_detail(conflict))


@extend_schema(
    tags=["conflicts"],
    summary="Resolve every matching open edit conflict by one rule (merchandisers and admins)",
    request=BulkResolveSerializer,
    responses={
        200: BulkResultSerializer,
        400: BAD_CHOICES,
        403: ROLE_FORBIDS,
        404: NOT_A_MEMBER,
    },
)
class ProjectBulkResolveView(generics.GenericAPIView):
    serializer_class = BulkResolveSerializer

    def post(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        project = project_or_404(
            request.user, self.kwargs["project_id"], Capability.RESOLVE_CONFLICT
        )
        serializer = BulkResolveSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        rule = {
            "entity": data["entity"],
            "field": data.get("field") or None,
            "conflict_ids": data.get("conflict_ids"),
        }
        preview = services.bulk_preview(project, **rule)
        body: dict[str, Any] = {
            "preview": data["preview"],
            "matched": preview.total,
            "resolvable": preview.resolvable,
            "resolved": [],
            "failed": [],
            "skipped": [],
            "remaining": preview.resolvable,
        }
        if not data["preview"]:
            result = services.bulk_resolve(
                project, user=request.user, side=data["side"], request=request, **rule
            )
            body.update(
                resolved=result.resolved,
                failed=[{"id": pk, "reason": reason} for pk, reason in result.failed],
                skipped=[{"id": pk, "reason": reason} for pk, reason in result.skipped],
                remaining=result.remaining,
            )
        return Response(BulkResultSerializer(body).data)
