from __future__ import annotations

from django.db.models import QuerySet
from drf_spectacular.utils import OpenApiResponse, extend_schema, extend_schema_view
from rest_framework import generics
from rest_framework.exceptions import PermissionDenied
from rest_framework.permissions import SAFE_METHODS

from apps.projects.access import can_manage_store, visible_stores
from apps.projects.api.common import (
    BAD_CURSOR,
    BAD_INPUT,
    ErrorSerializer,
    IdCursorPagination,
    get_or_404,
)
from apps.stores.api.serializers import StoreSerializer
from apps.stores.models import Store

_NOT_FOUND = OpenApiResponse(ErrorSerializer, description="No such store, or not visible to you.")


@extend_schema_view(
    get=extend_schema(
        summary="Stores you created or that your projects use",
        responses={200: StoreSerializer(many=True), 400: BAD_INPUT, 404: BAD_CURSOR},
    ),
    post=extend_schema(
        summary="Create a store connection (you become its owner)",
        responses={201: StoreSerializer, 400: BAD_INPUT},
    ),
)
@extend_schema(tags=["stores"])
class StoreListCreateView(generics.ListCreateAPIView):
    serializer_class = StoreSerializer
    pagination_class = IdCursorPagination
    ordering = "id"
    filterset_fields = ["platform"]

    def get_queryset(self) -> QuerySet[Store]:
        return visible_stores(self.request.user).select_related("created_by")


@extend_schema_view(
    get=extend_schema(summary="One store", responses={200: StoreSerializer, 404: _NOT_FOUND}),
    patch=extend_schema(
        summary="Change a store (its creator, or an admin of a project using it)",
        responses={
            200: StoreSerializer,
            400: BAD_INPUT,
            403: OpenApiResponse(ErrorSerializer, description="You may see but not change it."),
            404: _NOT_FOUND,
        },
    ),
)
@extend_schema(tags=["stores"])
class StoreDetailView(generics.RetrieveUpdateAPIView):
    serializer_class = StoreSerializer
    http_method_names = ["get", "patch", "head", "options"]

    def get_queryset(self) -> QuerySet[Store]:
        return visible_stores(self.request.user).select_related("created_by")

    def get_object(self) -> Store:
        store = get_or_404(self.get_queryset(), self.kwargs["pk"], "No such store.")
        if self.request.method not in SAFE_METHODS and not can_manage_store(
            self.request.user, store
        ):
            raise PermissionDenied(
                "Only the store's creator or an admin of a project using it may change it."
            )
        return store
