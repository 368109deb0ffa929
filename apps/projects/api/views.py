from __future__ import annotations

from typing import Any

from django.db.models import OuterRef, QuerySet, Subquery
from drf_spectacular.utils import OpenApiResponse, extend_schema, extend_schema_view
from rest_framework import generics, status
from rest_framework.exceptions import NotFound
from rest_framework.request import Request
from rest_framework.response import Response

from apps.core.roles import Capability
from apps.projects import services
from apps.projects.access import get_project, visible_projects
from apps.projects.api.common import (
    BAD_CURSOR,
    BAD_INPUT,
    ErrorSerializer,
    IdCursorPagination,
    get_or_404,
    parse_id,
)
from apps.projects.api.serializers import (
    MemberSerializer,
    ProjectDetailSerializer,
    ProjectSerializer,
    ProjectSettingsSerializer,
)
from apps.projects.models import Membership, Project
from apps.runs.models import Run

NOT_A_MEMBER = OpenApiResponse(
    ErrorSerializer, description="No such project, or you are not a member of it."
)
ROLE_FORBIDS = OpenApiResponse(ErrorSerializer, description="Your role does not allow this.")


def project_or_404(user: Any, project_id: Any, capability: str = Capability.VIEW) -> Project:
    """The project if the user's role allows `capability`; 404 for a non-member (and for any id
    that cannot exist), 403 for a member whose role lacks it."""
    number = parse_id(project_id)
    if number is None:
        raise NotFound("No such project.")
    return get_project(user, number, capability)


def _with_role(queryset: QuerySet[Project], user: Any) -> QuerySet[Project]:
    role = Membership.objects.filter(project=OuterRef("pk"), user=user).values("role")[:1]
    return queryset.annotate(user_role=Subquery(role)).select_related("created_by")


@extend_schema_view(
    get=extend_schema(
        summary="Projects you are a member of",
        responses={200: ProjectSerializer(many=True), 404: BAD_CURSOR},
    ),
    post=extend_schema(
        summary="Create a project (you become its admin)",
        responses={201: ProjectDetailSerializer, 400: BAD_INPUT},
    ),
)
@extend_schema(tags=["projects"])
class ProjectListCreateView(generics.ListCreateAPIView):
    serializer_class = ProjectSerializer
    pagination_class = IdCursorPagination
    ordering = "id"

    def get_queryset(self) -> QuerySet[Project]:
        if getattr(self, "swagger_fake_view", False):
            return Project.objects.none()
        return _with_role(visible_projects(self.request.user), self.request.user)

    def create(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        serializer = self.get_serializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        project = serializer.save()
        # Re-read through the annotated queryset so the answer carries the creator's role.
        project = self.get_queryset().get(pk=project.pk)
        project.latest_run = None
        return Response(ProjectDetailSerializer(project).data, status=status.HTTP_201_CREATED)


@extend_schema(
    tags=["projects"],
    summary="One project, with your role and its latest run",
    responses={200: ProjectDetailSerializer, 404: NOT_A_MEMBER},
)
class ProjectDetailView(generics.RetrieveAPIView):
    serializer_class = ProjectDetailSerializer

    def get_object(self) -> Project:
        user = self.request.user
        project = get_or_404(
            _with_role(visible_projects(user), user), self.kwargs["pk"], "No such project."
        )
        project.latest_run = (
            Run.objects.filter(project=project).select_related("created_by").first()
        )
        return project


@extend_schema_view(
    get=extend_schema(
        summary="Members of a project",
        responses={200: MemberSerializer(many=True), 404: NOT_A_MEMBER},
    ),
    post=extend_schema(
        summary="Add a member or change a member's role (admins only)",
        responses={
            200: MemberSerializer,
            201: MemberSerializer,
            400: BAD_INPUT,
            403: ROLE_FORBIDS,
            404: NOT_A_MEMBER,
        },
    ),
)
@extend_schema(tags=["projects"])
class ProjectMembersView(generics.ListCreateAPIView):
    serializer_class = MemberSerializer
    pagination_class = IdCursorPagination
    ordering = "id"

    def get_queryset(self) -> QuerySet[Membership]:
        if getattr(self, "swagger_fake_view", False):
            return Membership.objects.none()
        project = project_or_404(self.request.user, self.kwargs["project_id"])
        return project.memberships.select_related("user")

    def create(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        project = project_or_404(request.user, self.kwargs["project_id"], Capability.MANAGE)
        serializer = self.get_serializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        member = serializer.validated_data["user"]
        existed = project.memberships.filter(user=member).exists()
        membership = services.set_member(
            project,
            user=request.user,
            member=member,
            role=serializer.validated_data["role"],
            request=request,
        )
        return Response(
            MemberSerializer(membership).data,
            status=status.HTTP_200_OK if existed else status.HTTP_201_CREATED,
        )


@extend_schema_view(
    get=extend_schema(
        summary="A project's settings: scope, points budget and weights, cleansing, mappings",
        responses={200: ProjectSettingsSerializer, 404: NOT_A_MEMBER},
    ),
    patch=extend_schema(
        summary="Change a project's settings (admins only; audited)",
        request=ProjectSettingsSerializer,
        responses={
            200: ProjectSettingsSerializer,
            400: OpenApiResponse(description="A setting is invalid: messages per field."),
            403: ROLE_FORBIDS,
            404: NOT_A_MEMBER,
        },
    ),
)
@extend_schema(tags=["projects"])
class ProjectSettingsView(generics.GenericAPIView):
    serializer_class = ProjectSettingsSerializer

    def get(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        project = project_or_404(request.user, self.kwargs["project_id"])
        return Response(ProjectSettingsSerializer(project).data)

    def patch(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        project = project_or_404(request.user, self.kwargs["project_id"], Capability.MANAGE)
        serializer = ProjectSettingsSerializer(data=request.data, partial=True)
        serializer.is_valid(raise_exception=True)
        services.update_settings(
            project, request.user, request=request, **serializer.validated_data
        )
        return Response(ProjectSettingsSerializer(project).data)
