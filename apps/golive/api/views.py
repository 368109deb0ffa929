"""The cutover plan over REST: read (evaluated on read), approve / withdraw, edit checks, gates
and units, start a rollback, and the notification settings. Thin: the project comes through
apps.projects.access (non-member 404, role without the capability 403); everything else is in
apps.golive.services and notifications. Refusals: 400 with a message per field for bad input,
409 for a state that forbids the action (a failing check, an earlier stage not passed, already
approved, outside the rollback window without override)."""

from __future__ import annotations

from typing import Any

from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import status
from rest_framework.exceptions import NotFound
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from apps.core.roles import Capability
from apps.golive import notifications, services
from apps.golive.api.serializers import (
    ApprovalSerializer,
    CheckSerializer,
    CheckUpdateSerializer,
    DeliverySerializer,
    EmailRecipientsSerializer,
    EndpointSerializer,
    GateSerializer,
    GateUpdateSerializer,
    PlanSerializer,
    RollbackSerializer,
    UnitSerializer,
    UnitUpdateSerializer,
    WithdrawSerializer,
    plan_data,
)
from apps.golive.models import Check, CutoverUnit, Delivery, EmailRecipients, Gate, WebhookEndpoint
from apps.projects.api.common import ErrorSerializer, get_or_404
from apps.projects.api.views import NOT_A_MEMBER, ROLE_FORBIDS, project_or_404
from apps.runs.api.serializers import RunSummarySerializer
from apps.runs.models import Run

REFUSED = OpenApiResponse(
    ErrorSerializer,
    description="Refused in the current state: a check fails, the previous stage has not "
    "passed, already approved / nothing to withdraw, a run not finished or outside its "
    "rollback window without override.",
)
BAD_INPUT = OpenApiResponse(description="A message per field.")
NOT_FOUND_OR_NOT_A_MEMBER = OpenApiResponse(
    ErrorSerializer, description="No such endpoint in the project, or you are not a member of it."
)
RECENT_DELIVERIES = 100


def _gate(project: Any, gate_id: Any) -> Gate:
    services.get_plan(project)
    return get_or_404(
        Gate.objects.select_related("plan__project").filter(plan__project=project),
        gate_id,
        "No such gate.",
    )


def _fresh_gate(gate: Gate) -> Gate:
    return next(g for g in services.gates_of(gate.plan) if g.pk == gate.pk)


@extend_schema(tags=["cutover"])
class PlanView(APIView):
    @extend_schema(
        summary="The project's cutover plan, evaluated now",
        responses={200: PlanSerializer, 404: NOT_A_MEMBER},
    )
    def get(self, request: Request, project_id: int) -> Response:
        project = project_or_404(request.user, project_id)
        evaluation = services.evaluate(services.get_plan(project))
        return Response(plan_data(evaluation.plan, services.gates_of(evaluation.plan)))


@extend_schema(tags=["cutover"])
class GateApproveView(APIView):
    @extend_schema(
        summary="Approve a gate (admins)",
        request=None,
        responses={201: ApprovalSerializer, 403: ROLE_FORBIDS, 404: NOT_A_MEMBER, 409: REFUSED},
    )
    def post(self, request: Request, project_id: int, gate_id: int) -> Response:
        project = project_or_404(request.user, project_id, Capability.APPROVE_GATE)
        approval = services.approve(_gate(project, gate_id), request.user, request=request)
        return Response(ApprovalSerializer(approval).data, status=status.HTTP_201_CREATED)


@extend_schema(tags=["cutover"])
class GateWithdrawView(APIView):
    @extend_schema(
        summary="Withdraw your approval of a gate",
        request=WithdrawSerializer,
        responses={
            200: ApprovalSerializer,
            400: BAD_INPUT,
            403: ROLE_FORBIDS,
            404: NOT_A_MEMBER,
            409: REFUSED,
        },
    )
    def post(self, request: Request, project_id: int, gate_id: int) -> Response:
        project = project_or_404(request.user, project_id, Capability.APPROVE_GATE)
        body = WithdrawSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        approval = services.withdraw(
            _gate(project, gate_id),
            request.user,
            reason=body.validated_data.get("reason", ""),
            request=request,
        )
        return Response(ApprovalSerializer(approval).data)


@extend_schema(tags=["cutover"])
class GateView(APIView):
    @extend_schema(
        summary="One gate with its checks and approvals",
        responses={200: GateSerializer, 404: NOT_A_MEMBER},
    )
    def get(self, request: Request, project_id: int, gate_id: int) -> Response:
        project = project_or_404(request.user, project_id)
        return Response(GateSerializer(_fresh_gate(_gate(project, gate_id))).data)

    @extend_schema(
        summary="Change how many approvals a gate needs (admins)",
        request=GateUpdateSerializer,
        responses={200: GateSerializer, 400: BAD_INPUT, 403: ROLE_FORBIDS, 404: NOT_A_MEMBER},
    )
    def patch(self, request: Request, project_id: int, gate_id: int) -> Response:
        project = project_or_404(request.user, project_id, Capability.MANAGE)
        gate = _gate(project, gate_id)  # 404 for another project's gate, before validation
        body = GateUpdateSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        gate = services.update_gate(
            gate,
            user=request.user,
            required_approvals=body.validated_data["required_approvals"],
            request=request,
        )
        return Response(GateSerializer(_fresh_gate(gate)).data)


@extend_schema(tags=["cutover"])
class CheckView(APIView):
    @extend_schema(
        summary="Edit a check's threshold or switch it off (admins); the plan is re-evaluated",
        request=CheckUpdateSerializer,
        responses={200: CheckSerializer, 400: BAD_INPUT, 403: ROLE_FORBIDS, 404: NOT_A_MEMBER},
    )
    def patch(self, request: Request, project_id: int, check_id: int) -> Response:
        project = project_or_404(request.user, project_id, Capability.MANAGE)
        services.get_plan(project)
        check = get_or_404(
            Check.objects.select_related("gate__plan__project").filter(gate__plan__project=project),
            check_id,
            "No such check.",
        )
        body = CheckUpdateSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        check = services.update_check(
            check,
            user=request.user,
            threshold=body.validated_data.get("threshold"),
            enabled=body.validated_data.get("enabled"),
            request=request,
        )
        return Response(CheckSerializer(check).data)


@extend_schema(tags=["cutover"])
class UnitView(APIView):
    @extend_schema(
        summary="Edit a cutover unit (admins): system of record and delta direction per "
        "stage, rollback window (hours) and triggers",
        request=UnitUpdateSerializer,
        responses={200: UnitSerializer, 400: BAD_INPUT, 403: ROLE_FORBIDS, 404: NOT_A_MEMBER},
    )
    def patch(self, request: Request, project_id: int, unit_id: int) -> Response:
        project = project_or_404(request.user, project_id, Capability.MANAGE)
        services.get_plan(project)
        unit = get_or_404(
            CutoverUnit.objects.select_related("plan__project").filter(plan__project=project),
            unit_id,
            "No such unit.",
        )
        body = UnitUpdateSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        unit = services.update_unit(
            unit, user=request.user, data=dict(body.validated_data), request=request
        )
        return Response(UnitSerializer(unit).data)


@extend_schema(tags=["cutover"])
class RollbackView(APIView):
    @extend_schema(
        summary="Roll back a finished run (admins); outside its window only with override",
        request=RollbackSerializer,
        responses={
            201: RunSummarySerializer,
            400: BAD_INPUT,
            403: ROLE_FORBIDS,
            404: NOT_A_MEMBER,
            409: REFUSED,
        },
    )
    def post(self, request: Request, project_id: int) -> Response:
        project = project_or_404(request.user, project_id, Capability.APPROVE_GATE)
        body = RollbackSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        run = Run.objects.filter(pk=body.validated_data["run"], project=project).first()
        if run is None:
            raise NotFound("No such run in this project.")
        rollback = services.start_rollback(
            project,
            run,
            request.user,
            override=body.validated_data["override"],
            request=request,
        )
        return Response(RunSummarySerializer(rollback).data, status=status.HTTP_201_CREATED)


# --- notifications ---------------------------------------------------------------------------


@extend_schema(tags=["notifications"])
class EndpointListView(APIView):
    @extend_schema(
        summary="The project's outbound webhook endpoints (secrets are never answered)",
        responses={200: EndpointSerializer(many=True), 404: NOT_A_MEMBER},
    )
    def get(self, request: Request, project_id: int) -> Response:
        project = project_or_404(request.user, project_id)
        rows = WebhookEndpoint.objects.filter(project=project)
        return Response(EndpointSerializer(rows, many=True).data)

    @extend_schema(
        summary="Add an endpoint (admins); without a secret one is generated (write-only)",
        request=EndpointSerializer,
        responses={201: EndpointSerializer, 400: BAD_INPUT, 403: ROLE_FORBIDS, 404: NOT_A_MEMBER},
    )
    def post(self, request: Request, project_id: int) -> Response:
        project = project_or_404(request.user, project_id, Capability.MANAGE)
        body = EndpointSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        endpoint = notifications.create_endpoint(
            project,
            user=request.user,
            url=body.validated_data["url"],
            secret=body.validated_data.get("secret"),
            events=body.validated_data.get("events"),
            request=request,
        )
        return Response(EndpointSerializer(endpoint).data, status=status.HTTP_201_CREATED)


@extend_schema(tags=["notifications"])
class EndpointDetailView(APIView):
    def _endpoint(self, request: Request, project_id: int, endpoint_id: int, cap: str) -> Any:
        project = project_or_404(request.user, project_id, cap)
        return get_or_404(
            WebhookEndpoint.objects.filter(project=project), endpoint_id, "No such endpoint."
        )

    @extend_schema(
        summary="Change an endpoint (admins): url, events, active, or rotate the secret",
        request=EndpointSerializer,
        responses={
            200: EndpointSerializer,
            400: BAD_INPUT,
            403: ROLE_FORBIDS,
            404: NOT_FOUND_OR_NOT_A_MEMBER,
        },
    )
    def patch(self, request: Request, project_id: int, endpoint_id: int) -> Response:
        endpoint = self._endpoint(request, project_id, endpoint_id, Capability.MANAGE)
        body = EndpointSerializer(endpoint, data=request.data, partial=True)
        body.is_valid(raise_exception=True)
        endpoint = notifications.update_endpoint(
            endpoint, user=request.user, data=dict(body.validated_data), request=request
        )
        return Response(EndpointSerializer(endpoint).data)

    @extend_schema(
        summary="Remove an endpoint (admins)",
        responses={204: None, 403: ROLE_FORBIDS, 404: NOT_FOUND_OR_NOT_A_MEMBER},
    )
    def delete(self, request: Request, project_id: int, endpoint_id: int) -> Response:
        endpoint = self._endpoint(request, project_id, endpoint_id, Capability.MANAGE)
        notifications.delete_endpoint(endpoint, user=request.user, request=request)
        return Response(status=status.HTTP_204_NO_CONTENT)


@extend_schema(tags=["notifications"])
class DeliveryListView(APIView):
    @extend_schema(
        summary="The project's most recent notification deliveries",
        responses={200: DeliverySerializer(many=True), 404: NOT_A_MEMBER},
    )
    def get(self, request: Request, project_id: int) -> Response:
        project = project_or_404(request.user, project_id)
        rows = Delivery.objects.filter(project=project)[:RECENT_DELIVERIES]
        return Response(DeliverySerializer(rows, many=True).data)


@extend_schema(tags=["notifications"])
class EmailRecipientsView(APIView):
    @extend_schema(
        summary="Who gets e-mail: project members by role and listed addresses",
        responses={200: EmailRecipientsSerializer, 404: NOT_A_MEMBER},
    )
    def get(self, request: Request, project_id: int) -> Response:
        project = project_or_404(request.user, project_id)
        config = EmailRecipients.objects.filter(project=project).first()
        return Response(EmailRecipientsSerializer(config or EmailRecipients()).data)

    @extend_schema(
        summary="Set the e-mail recipients (admins)",
        request=EmailRecipientsSerializer,
        responses={
            200: EmailRecipientsSerializer,
            400: BAD_INPUT,
            403: ROLE_FORBIDS,
            404: NOT_A_MEMBER,
        },
    )
    def put(self, request: Request, project_id: int) -> Response:
        project = project_or_404(request.user, project_id, Capability.MANAGE)
        body = EmailRecipientsSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        config = notifications.set_email_recipients(
            project, user=request.user, request=request, **body.validated_data
        )
        return Response(EmailRecipientsSerializer(config).data)
