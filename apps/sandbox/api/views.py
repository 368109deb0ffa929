"""GET / PATCH /api/v1/stores/<id>/sandbox/: the faults of the sandbox a store points at.

Access follows the store (apps/projects/access.py): not visible → 404, visible but not
manageable → 403 on PATCH (anyone who sees the store may read the settings), and a store that
is not a sandbox → 404 with the reason.
"""

from __future__ import annotations

from typing import Any

from drf_spectacular.utils import OpenApiResponse, extend_schema, extend_schema_view
from rest_framework import generics
from rest_framework.exceptions import NotFound, PermissionDenied
from rest_framework.request import Request
from rest_framework.response import Response

from apps.projects.access import can_manage_store, visible_stores
from apps.projects.api.common import ErrorSerializer, get_or_404
from apps.sandbox import fault_settings
from apps.sandbox.api.serializers import SandboxFaultsSerializer
from apps.sandbox.models import SandboxStore
from apps.stores.models import Store

_NOT_FOUND = OpenApiResponse(
    ErrorSerializer, description="No such store, not visible to you, or not a sandbox store."
)


def _body(store: Store, sandbox: SandboxStore) -> dict[str, Any]:
    return {
        "store_id": store.pk,
        "sandbox": sandbox.slug,
        "flavor": sandbox.flavor,
        "fault_draws": sandbox.fault_draws,
        **fault_settings.current(sandbox),
    }


class SandboxStoreView(generics.GenericAPIView):
    """A visible Store that points at a sandbox: anyone who sees the store may read its
    sandbox's settings; its creator or an admin of a project using it may change them."""

    http_method_names = ["get", "patch", "head", "options"]

    def _target(self, *, manage: bool) -> tuple[Store, SandboxStore]:
        store = get_or_404(visible_stores(self.request.user), self.kwargs["pk"], "No such store.")
        if manage and not can_manage_store(self.request.user, store):
            raise PermissionDenied(
                "Only the store's creator or an admin of a project using it may change its sandbox."
            )
        try:
            return store, fault_settings.sandbox_for_store(store)
        except fault_settings.NotASandbox as exc:
            raise NotFound(str(exc)) from None


@extend_schema_view(
    get=extend_schema(
        summary="The fault settings of a sandbox store",
        responses={200: SandboxFaultsSerializer, 404: _NOT_FOUND},
    ),
    patch=extend_schema(
        summary="Change a sandbox's faults (latency, 5xx, timeouts, dropped writes, quota)",
        responses={
            200: SandboxFaultsSerializer,
            400: OpenApiResponse(description="A value is out of range or unknown."),
            403: OpenApiResponse(ErrorSerializer, description="You may see but not change it."),
            404: _NOT_FOUND,
        },
    ),
)
@extend_schema(tags=["stores"])
class SandboxFaultsView(SandboxStoreView):
    serializer_class = SandboxFaultsSerializer

    def get(self, request: Request, pk: int) -> Response:
        store, sandbox = self._target(manage=False)
        return Response(_body(store, sandbox))

    def patch(self, request: Request, pk: int) -> Response:
        store, sandbox = self._target(manage=True)
        serializer = self.get_serializer(data=request.data, partial=True)
        serializer.is_valid(raise_exception=True)
        # A service ValidationError becomes a 400 in apps.core.api.exception_handler.
        fault_settings.update_faults(
            store, sandbox, user=request.user, request=request, **serializer.validated_data
        )
        return Response(_body(store, sandbox))
