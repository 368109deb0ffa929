"""The webhook receivers (called by the source store, no session, no CSRF) and the project's
webhooks page (status, and "Connect webhooks" for admins).

Receivers answer JSON: 404 for an unknown token, 401 for a bad or missing signature / secret
header (nothing is recorded), 400 with a message for a body that cannot be understood, and 200
otherwise — also for duplicates and topics no entity follows, so the platform neither retries
them nor counts them as failures.
"""

from __future__ import annotations

import logging

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import RequestDataTooBig, ValidationError
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_GET, require_POST

from apps.core.roles import Capability
from apps.projects.access import can, get_project
from apps.webhooks import receiving, services
from apps.webhooks.models import Platform, WebhookEndpoint
from apps.webhooks.registration import SECRET_HEADER

logger = logging.getLogger(__name__)


def _answer(code: int, **body: str) -> JsonResponse:
    return JsonResponse(body, status=code)


def _endpoint(token: str, platform: str) -> WebhookEndpoint | None:
    return (
        WebhookEndpoint.objects.select_related("project")
        .filter(token=token, platform=platform)
        .first()
    )


def _body(request: HttpRequest) -> bytes | None:
    try:
        return request.body
    except RequestDataTooBig:
        return None


def _recorded(endpoint: WebhookEndpoint, notice: receiving.Notice) -> JsonResponse:
    outcome = receiving.record(endpoint, notice)
    logger.info(
        "webhook for project %s: %s %s %s → %s",
        endpoint.project_id,
        notice.action or "-",
        notice.entity or "(not followed)",
        notice.source_id or "-",
        outcome,
    )
    return _answer(200, status=outcome)


@csrf_exempt
@require_POST
def receive_woocommerce(request: HttpRequest, token: str) -> HttpResponse:
    endpoint = _endpoint(token, Platform.WOOCOMMERCE)
    if endpoint is None:
        return _answer(404, detail="No webhook endpoint is served at this address.")
    body = _body(request)
    if body is None:
        return _answer(413, detail="The body is too large.")
    if receiving.is_woo_ping(body):
        return _answer(200, status="ping")
    signature = request.headers.get("X-WC-Webhook-Signature", "")
    if not signature:
        return _answer(401, detail="X-WC-Webhook-Signature is missing.")
    if not receiving.woo_signature_ok(endpoint.secret(), body, signature):
        return _answer(401, detail="X-WC-Webhook-Signature does not match this endpoint's secret.")
    try:
        notice = receiving.parse_woocommerce(request.headers, body)
    except receiving.Malformed as exc:
        return _answer(400, detail=str(exc))
    return _recorded(endpoint, notice)


@csrf_exempt
@require_POST
def receive_bigcommerce(request: HttpRequest, token: str) -> HttpResponse:
    endpoint = _endpoint(token, Platform.BIGCOMMERCE)
    if endpoint is None:
        return _answer(404, detail="No webhook endpoint is served at this address.")
    given = request.headers.get(SECRET_HEADER, "")
    if not given:
        return _answer(401, detail=f"{SECRET_HEADER} is missing.")
    if not receiving.shared_secret_ok(endpoint.secret(), given):
        return _answer(401, detail=f"{SECRET_HEADER} does not match this endpoint's secret.")
    body = _body(request)
    if body is None:
        return _answer(413, detail="The body is too large.")
    try:
        notice = receiving.parse_bigcommerce(body)
    except receiving.Malformed as exc:
        return _answer(400, detail=str(exc))
    return _recorded(endpoint, notice)


# --- dashboard -----------------------------------------------------------------------------


@login_required
@require_GET
def project_webhooks(request: HttpRequest, pk: int) -> HttpResponse:
    project = get_project(request.user, pk)
    context = {
        "project": project,
        "hooks": services.summary(project),
        "can_manage": can(request.user, project, Capability.MANAGE),
    }
    return render(request, "webhooks/page.html", context)


@login_required
@require_POST
def connect(request: HttpRequest, pk: int) -> HttpResponse:
    project = get_project(request.user, pk, Capability.MANAGE)
    try:
        endpoint, _ = services.connect_webhooks(project, user=request.user, request=request)
    except (ValidationError, services.WebhooksUnavailable) as exc:
        text = " ".join(exc.messages) if isinstance(exc, ValidationError) else str(exc)
        messages.error(request, text)
    else:
        messages.success(
            request,
            f"Webhooks connected: {len(endpoint.subscriptions)} subscriptions on the source "
            "store. Changes it pushes are picked up by the next delta.",
        )
    return redirect("webhooks:project", pk=project.pk)
