"""GET / POST /api/v1/projects/<id>/webhooks/: a project's webhooks, and "connect" (admins).
GET / PATCH /api/v1/stores/<id>/sandbox/webhooks/: a sandbox's webhook delivery faults."""

from __future__ import annotations

from typing import Any

from drf_spectacular.utils import OpenApiResponse, extend_schema, extend_schema_view
from rest_framework import generics, status
from rest_framework.exceptions import APIException
from rest_framework.request import Request
from rest_framework.response import Response

from apps.core.roles import Capability
from apps.projects.api.common import ErrorSerializer
from apps.projects.api.views import NOT_A_MEMBER, ROLE_FORBIDS, project_or_404
from apps.sandbox import webhooks as sandbox_webhooks
from apps.sandbox.api.views import SandboxStoreView
from apps.sandbox.models import SandboxStore
from apps.stores.models import Store
from apps.webhooks import services
from apps.webhooks.api.serializers import (
    ProjectWebhooksSerializer,
    SandboxWebhookFaultsSerializer,
)


class SourceUnavailable(APIException):
    status_code = status.HTTP_502_BAD_GATEWAY
    default_detail = "The source store could not register the webhooks."
    default_code = "source_unavailable"


def _body(summary: services.Summary) -> dict[str, Any]:
    endpoint = summary.endpoint
    return {
        "connected": endpoint is not None,
        "platform": endpoint.platform if endpoint else None,
        "status": endpoint.status if endpoint else None,
        "delivery_url": summary.delivery_url,
        "subscriptions": endpoint.subscriptions if endpoint else [],
        "error": endpoint.error if endpoint else "",
        "connected_at": endpoint.connected_at if endpoint else None,
        "pending_events": summary.pending_events,
        "last_event_at": summary.last_event_at,
    }


@extend_schema_view(
    get=extend_schema(
        summary="A project's webhooks: endpoint, subscriptions, changes waiting for a delta",
        responses={200: ProjectWebhooksSerializer, 404: NOT_A_MEMBER},
    ),
    post=extend_schema(
        summary="Connect webhooks: register the subscriptions on the source store (admins; "
        "audited)",
        request=None,
        responses={
            200: ProjectWebhooksSerializer,
            201: ProjectWebhooksSerializer,
            400: OpenApiResponse(description="No entity in scope sends webhooks."),
            403: ROLE_FORBIDS,
            404: NOT_A_MEMBER,
            502: OpenApiResponse(ErrorSerializer, description="The source store refused."),
        },
    ),
)
@extend_schema(tags=["projects"])
class ProjectWebhooksView(generics.GenericAPIView):
    serializer_class = ProjectWebhooksSerializer

    def get(self, request: Request, project_id: int) -> Response:
        project = project_or_404(request.user, project_id)
        return Response(ProjectWebhooksSerializer(_body(services.summary(project))).data)

    def post(self, request: Request, project_id: int) -> Response:
        project = project_or_404(request.user, project_id, Capability.MANAGE)
        try:
            _, created = services.connect_webhooks(project, user=request.user, request=request)
        except services.WebhooksUnavailable as exc:
            raise SourceUnavailable(str(exc)) from None
        body = ProjectWebhooksSerializer(_body(services.summary(project))).data
        return Response(body, status=status.HTTP_201_CREATED if created else status.HTTP_200_OK)


_NO_SANDBOX = OpenApiResponse(
    ErrorSerializer, description="No such store, not visible to you, or not a sandbox store."
)


def _faults_body(store: Store, sandbox: SandboxStore) -> dict[str, Any]:
    faults = sandbox_webhooks.delivery_faults(sandbox.pk)
    return {
        "store_id": store.pk,
        "sandbox": sandbox.slug,
        "duplicate_rate": faults.duplicate_rate,
        "reorder_rate": faults.reorder_rate,
        "hold_ms": faults.hold_ms,
        "seed": faults.seed,
    }


@extend_schema_view(
    get=extend_schema(
        summary="A sandbox store's webhook delivery faults",
        responses={200: SandboxWebhookFaultsSerializer, 404: _NO_SANDBOX},
    ),
    patch=extend_schema(
        summary="Make a sandbox send webhooks twice or out of order (audited)",
        responses={
            200: SandboxWebhookFaultsSerializer,
            400: OpenApiResponse(description="A value is out of range or unknown."),
            403: OpenApiResponse(ErrorSerializer, description="You may see but not change it."),
            404: _NO_SANDBOX,
        },
    ),
)
@extend_schema(tags=["stores"])
class SandboxWebhookFaultsView(SandboxStoreView):
    serializer_class = SandboxWebhookFaultsSerializer

    def get(self, request: Request, pk: int) -> Response:
        store, sandbox = self._target(manage=False)
        return Response(_faults_body(store, sandbox))

    def patch(self, request: Request, pk: int) -> Response:
        store, sandbox = self._target(manage=True)
        serializer = self.get_serializer(data=request.data, partial=True)
        serializer.is_valid(raise_exception=True)
        sandbox_webhooks.update_delivery_faults(
            sandbox, user=request.user, request=request, **serializer.validated_data
        )
        return Response(_faults_body(store, sandbox))
