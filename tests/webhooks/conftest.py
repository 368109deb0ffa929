"""Fixtures for webhook tests: a small rehearsal (WooCommerce sandbox → BigCommerce sandbox),
sandbox deliveries sent synchronously into this server, and endpoints made directly."""

from __future__ import annotations

import json
import secrets
from collections.abc import Callable
from typing import Any

import pytest
from django.db import connection
from django.test import Client

from apps.core.crypto import encrypt_json
from apps.sandbox.webhooks import InlineOutbox, deliver_inline
from apps.webhooks.models import EndpointStatus, WebhookEndpoint
from apps.webhooks.receiving import woo_signature
from tests.support.rehearsal import Rehearsal, make_rehearsal

SECRET = "whsec-test-0123456789abcdef"


@pytest.fixture
def rehearsal(sandbox_http) -> Rehearsal:
    return make_rehearsal(sandbox_http, products=12)


@pytest.fixture
def nested_requests(sandbox_http, monkeypatch):
    """Let a view served by Django's test client make in-process requests to the sandbox.

    The test client re-connects close_old_connections to request_started for its own request
    (undoing what `sandbox_http` disconnected), so the nested request would close the test's
    connection, open transaction and all. Within a test that connection must live on."""
    monkeypatch.setattr(connection, "close_if_unusable_or_obsolete", lambda: None)


@pytest.fixture
def outbox(sandbox_http) -> InlineOutbox:
    """Sandbox webhooks delivered at once, in-process, to this server's receivers."""
    with deliver_inline(sandbox_http) as outbox:
        yield outbox


@pytest.fixture
def committed(django_capture_on_commit_callbacks) -> Callable[[], Any]:
    """`with committed():` runs what the block's writes left for after their commit (the
    test's own transaction never commits, so on_commit callbacks would never fire)."""
    return lambda: django_capture_on_commit_callbacks(execute=True)


def make_endpoint(project: Any, platform: str = "woocommerce", secret: str = SECRET):
    return WebhookEndpoint.objects.create(
        project=project,
        platform=platform,
        token=secrets.token_urlsafe(24),
        secret_encrypted=encrypt_json({"secret": secret}),
        status=EndpointStatus.CONNECTED,
    )


def post_woo(
    endpoint: WebhookEndpoint,
    payload: Any = None,
    *,
    body: bytes | None = None,
    topic: str = "product.updated",
    delivery_id: str = "d-1",
    secret: str = SECRET,
    signature: str | None = None,
    signed: bool = True,
) -> Any:
    raw = body if body is not None else json.dumps(payload).encode()
    headers = {
        "X-WC-Webhook-Topic": topic,
        "X-WC-Webhook-Resource": topic.partition(".")[0],
        "X-WC-Webhook-Event": topic.partition(".")[2],
        "X-WC-Webhook-ID": "41",
        "X-WC-Webhook-Delivery-ID": delivery_id,
        "X-WC-Webhook-Source": "https://shop.example.com/",
    }
    if signed:
        headers["X-WC-Webhook-Signature"] = signature or woo_signature(secret, raw)
    return Client().post(
        f"/webhooks/woocommerce/{endpoint.token}/",
        data=raw,
        content_type="application/json",
        headers=headers,
    )


def post_big(
    endpoint: WebhookEndpoint,
    payload: Any = None,
    *,
    body: bytes | None = None,
    secret: str | None = SECRET,
) -> Any:
    raw = body if body is not None else json.dumps(payload).encode()
    headers = {"X-Migrator-Webhook-Secret": secret} if secret is not None else {}
    return Client().post(
        f"/webhooks/bigcommerce/{endpoint.token}/",
        data=raw,
        content_type="application/json",
        headers=headers,
    )
