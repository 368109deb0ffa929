"""Connecting a project's source store to its webhook endpoint, and what the pages show.

`connect_webhooks` creates the project's endpoint (URL token and secret) on first use, then
registers one subscription per topic of the entities in scope on the source store, with the
delivery URL {PUBLIC_URL}/webhooks/<platform>/<token>/. The endpoint row is committed before
any request to the source: WooCommerce pings the URL as soon as a webhook is saved, and no
database transaction may be held open across another server's request (the sandbox may be
served by this very process). Connecting again keeps the token and the secret and leaves one
subscription per topic.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Max
from django.urls import reverse
from django.utils import timezone

from apps.core import audit
from apps.core.crypto import encrypt_json
from apps.projects.models import Project
from apps.runs.models import ChangeEvent
from apps.webhooks import registration
from apps.webhooks.models import EndpointStatus, Platform, WebhookEndpoint

# Topics per entity, in the platforms' own names. WooCommerce core has no term topics.
WOO_TOPICS: dict[str, tuple[str, ...]] = {
    "products": ("product.created", "product.updated", "product.deleted"),
    "customers": ("customer.created", "customer.updated", "customer.deleted"),
    "orders": ("order.created", "order.updated", "order.deleted"),
}
BIG_SCOPES: dict[str, tuple[str, ...]] = {
    "categories": ("store/category/created", "store/category/updated", "store/category/deleted"),
    "products": ("store/product/created", "store/product/updated", "store/product/deleted"),
    "customers": ("store/customer/created", "store/customer/updated", "store/customer/deleted"),
    "orders": ("store/order/created", "store/order/updated", "store/order/archived"),
}


class WebhooksUnavailable(Exception):
    """The source store could not register the subscriptions (the message says why)."""


def topics_for(project: Project) -> list[str]:
    table = WOO_TOPICS if project.source_store.api_family == Platform.WOOCOMMERCE else BIG_SCOPES
    return [topic for entity in project.entities or [] for topic in table.get(entity, ())]


def delivery_url(endpoint: WebhookEndpoint, public_url: str | None = None) -> str:
    path = reverse(f"webhooks:{endpoint.platform}", args=[endpoint.token])
    return f"{(public_url or settings.PUBLIC_URL).rstrip('/')}{path}"


@transaction.atomic
def _prepare(project: Project, user: Any) -> tuple[WebhookEndpoint, bool]:
    platform = project.source_store.api_family
    # get_or_create: two admins connecting at once end up with one endpoint.
    endpoint, created = WebhookEndpoint.objects.select_for_update().get_or_create(
        project=project,
        defaults={
            "platform": platform,
            "token": secrets.token_urlsafe(24),
            "secret_encrypted": encrypt_json({"secret": secrets.token_urlsafe(32)}),
            "created_by": user if getattr(user, "is_authenticated", False) else None,
        },
    )
    # The source store may have been switched to another platform since the last connect.
    endpoint.platform = platform
    endpoint.status = EndpointStatus.CONNECTING
    endpoint.save(update_fields=["platform", "status"])
    return endpoint, created


def connect_webhooks(
    project: Project, *, user: Any, request: Any = None
) -> tuple[WebhookEndpoint, bool]:
    """Create (or reuse) the endpoint and register the subscriptions at the source; audited.
    Returns (endpoint, created). WebhooksUnavailable when the source refuses."""
    topics = topics_for(project)
    if not topics:
        raise ValidationError(
            "None of the project's entities sends webhooks on "
            f"{project.source_store.get_platform_display()}."
        )
    endpoint, created = _prepare(project, user)
    url = delivery_url(endpoint)
    try:
        registered = registration.register(project.source_store, url, topics, endpoint.secret())
    except registration.RegistrationError as exc:
        with transaction.atomic():
            endpoint.status, endpoint.error = EndpointStatus.FAILED, str(exc)
            endpoint.save(update_fields=["status", "error"])
            audit.record(
                action="webhooks.connect_failed",
                obj=endpoint,
                user=user,
                request=request,
                project_id=project.pk,
                payload={"platform": endpoint.platform, "error": str(exc)},
            )
        raise WebhooksUnavailable(str(exc)) from None
    with transaction.atomic():
        endpoint.status, endpoint.error = EndpointStatus.CONNECTED, ""
        endpoint.subscriptions = registered
        endpoint.connected_at = timezone.now()
        endpoint.save(update_fields=["status", "error", "subscriptions", "connected_at"])
        audit.record(
            action="webhooks.connected",
            obj=endpoint,
            user=user,
            request=request,
            project_id=project.pk,
            payload={
                "platform": endpoint.platform,
                "topics": [item["topic"] for item in registered],
                "new_endpoint": created,
            },
        )
    return endpoint, created


@dataclass(frozen=True)
class Summary:
    """What the dashboard and the API show: never the secret."""

    endpoint: WebhookEndpoint | None
    delivery_url: str
    topics: list[str]
    pending_events: int
    last_event_at: datetime | None


def summary(project: Project) -> Summary:
    endpoint = WebhookEndpoint.objects.filter(project=project).first()
    waiting = ChangeEvent.objects.filter(project=project, run__isnull=True)
    return Summary(
        endpoint=endpoint,
        delivery_url=delivery_url(endpoint) if endpoint else "",
        topics=[item.get("topic", "") for item in endpoint.subscriptions] if endpoint else [],
        pending_events=waiting.count(),
        last_event_at=ChangeEvent.objects.filter(project=project).aggregate(
            last=Max("received_at")
        )["last"],
    )
