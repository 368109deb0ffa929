"""Telling people: signed outbound webhooks and e-mail on run.finished, gate.changed,
conflict.opened and rollback.started.

`notify` writes one Delivery row per matching endpoint (and one for e-mail) in the caller's
transaction and sends each by a Celery task after commit (`golive.deliver`: acks late, retried
with exponential backoff). A failure is recorded on its Delivery and never raised into the
engine or the request that caused it.

Signature — every webhook POST carries:
    Content-Type: application/json
    X-Migrator-Event: gate.changed
    X-Migrator-Delivery: <delivery id>           (the same on every retry: dedupe on it)
    X-Migrator-Timestamp: <unix seconds when sent>
    X-Migrator-Signature: sha256=<hex HMAC-SHA256(secret, "<timestamp>." + raw body)>
A receiver recomputes the HMAC over the timestamp, a dot and the raw body bytes with the
endpoint's secret, compares in constant time, and rejects a timestamp further than its
tolerance (5 minutes here) from its clock, so a captured request cannot be replayed later.
`verify_signature` below is that receiver, used by the tests.

Payloads carry ids, names, counts and links — never credentials or secrets.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import secrets as secrets_module
import time
from typing import Any
from urllib.parse import urlsplit

import httpx
from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.mail import send_mail
from django.core.serializers.json import DjangoJSONEncoder
from django.db import transaction
from django.utils import timezone

from apps.core import audit
from apps.core.crypto import encrypt_json
from apps.core.roles import Capability, Role
from apps.golive.choices import Channel, DeliveryStatus, Event
from apps.golive.models import Delivery, EmailRecipients, WebhookEndpoint
from apps.projects.access import can
from apps.projects.models import Membership, Project

log = logging.getLogger(__name__)

EVENT_HEADER = "X-Migrator-Event"
DELIVERY_HEADER = "X-Migrator-Delivery"
TIMESTAMP_HEADER = "X-Migrator-Timestamp"
SIGNATURE_HEADER = "X-Migrator-Signature"
TOLERANCE_SECONDS = 300
MAX_ATTEMPTS = 5
TIMEOUT_SECONDS = 10.0
MIN_SECRET_CHARS = 16


class DeliveryFailed(Exception):
    """A passing failure: the task retries the delivery with backoff."""


# --- signing ---------------------------------------------------------------------------------


def sign(secret: str, timestamp: int | str, body: bytes) -> str:
    message = str(timestamp).encode() + b"." + body
    return "sha256=" + hmac.new(secret.encode(), message, hashlib.sha256).hexdigest()


def verify_signature(
    secret: str,
    body: bytes,
    timestamp: str,
    signature: str,
    *,
    tolerance: int = TOLERANCE_SECONDS,
    now: float | None = None,
) -> bool:
    """A receiver's check: the signature matches and the timestamp is recent."""
    try:
        stamp = int(timestamp)
    except (TypeError, ValueError):
        return False
    if abs((now if now is not None else time.time()) - stamp) > tolerance:
        return False
    return hmac.compare_digest(sign(secret, stamp, body), signature or "")


def encode(payload: dict[str, Any]) -> bytes:
    return json.dumps(payload, cls=DjangoJSONEncoder, sort_keys=True).encode()


# --- writing deliveries ----------------------------------------------------------------------


def _recipients(config: EmailRecipients) -> list[str]:
    addresses = {a for a in config.addresses if a}
    if config.roles:
        addresses |= set(
            Membership.objects.filter(project_id=config.project_id, role__in=config.roles)
            .exclude(user__email="")
            .values_list("user__email", flat=True)
        )
    return sorted(addresses)


def notify(project: Project, event: str, data: dict[str, Any]) -> list[Delivery]:
    """Queue `event` to the project's endpoints and e-mail recipients that want it."""
    payload = {
        "event": event,
        "project": {"id": project.pk, "name": project.name},
        "at": timezone.now().isoformat(),
        "data": data,
    }
    # Normalise once, so the stored payload is exactly the JSON that is signed and sent.
    payload = json.loads(encode(payload))
    rows = [
        Delivery.objects.create(
            project=project, channel=Channel.WEBHOOK, endpoint=e, event=event, payload=payload
        )
        for e in WebhookEndpoint.objects.filter(project=project, active=True)
        if e.wants(event)
    ]
    config = EmailRecipients.objects.filter(project=project).first()
    if config is not None and config.wants(event):
        recipients = _recipients(config)
        if recipients:
            rows.append(
                Delivery.objects.create(
                    project=project,
                    channel=Channel.EMAIL,
                    recipients=recipients,
                    event=event,
                    payload=payload,
                )
            )
    if not rows:
        return []
    ids = [row.pk for row in rows]
    transaction.on_commit(lambda: _enqueue(ids))
    return rows


def _enqueue(ids: list[int]) -> None:
    from apps.golive import tasks

    for pk in ids:
        try:
            tasks.deliver.delay(pk)
        except Exception:  # a broker outage must not break the caller; the row stays pending
            log.exception("could not enqueue delivery %s", pk)


def notify_safely(project: Project, event: str, data: dict[str, Any]) -> None:
    """For signal receivers: never raises into the engine."""
    try:
        with transaction.atomic():
            notify(project, event, data)
    except Exception:
        log.exception("notification %s for project %s failed", event, project.pk)


# --- sending ---------------------------------------------------------------------------------


def http_client() -> httpx.Client:
    """The client deliveries are POSTed with (tests swap it for a MockTransport)."""
    return httpx.Client(timeout=TIMEOUT_SECONDS, follow_redirects=False)


def _subject(payload: dict[str, Any]) -> str:
    project = payload.get("project", {}).get("name", "")
    data = payload.get("data", {})
    event = payload.get("event", "")
    detail = {
        Event.RUN_FINISHED: lambda: f"run #{data.get('run_id')} {data.get('status')}",
        Event.GATE_CHANGED: lambda: f"{data.get('gate', {}).get('name')} → {data.get('to')}",
        Event.CONFLICT_OPENED: lambda: f"conflict on {data.get('entity')} {data.get('source_id')}",
        Event.ROLLBACK_STARTED: lambda: f"rollback of run #{data.get('run')} started",
    }.get(event, lambda: event)()
    return f"[Migrator] {project}: {detail}"


def _send_webhook(delivery: Delivery) -> None:
    endpoint = delivery.endpoint
    body = encode(delivery.payload)
    stamp = int(time.time())
    headers = {
        "Content-Type": "application/json",
        "User-Agent": "Migrator-Notifications/1",
        EVENT_HEADER: delivery.event,
        DELIVERY_HEADER: str(delivery.pk),
        TIMESTAMP_HEADER: str(stamp),
        SIGNATURE_HEADER: sign(endpoint.secret(), stamp, body),
    }
    try:
        with http_client() as client:
            response = client.post(endpoint.url, content=body, headers=headers)
    except httpx.HTTPError as exc:
        raise DeliveryFailed(f"{type(exc).__name__}: could not reach the endpoint.") from exc
    delivery.response_code = response.status_code
    if not 200 <= response.status_code < 300:
        raise DeliveryFailed(f"The endpoint answered HTTP {response.status_code}.")


def _send_email(delivery: Delivery) -> None:
    body = json.dumps(delivery.payload, indent=2, sort_keys=True)
    try:
        send_mail(
            _subject(delivery.payload),
            body,
            settings.DEFAULT_FROM_EMAIL,
            list(delivery.recipients),
            fail_silently=False,
        )
    except Exception as exc:  # SMTP and backend errors of every kind
        raise DeliveryFailed(f"{type(exc).__name__}: the mail server refused it.") from exc


def send_delivery(delivery_id: int, *, final: bool = False) -> Delivery | None:
    """One attempt. Records the outcome on the row; raises DeliveryFailed for the task to retry
    unless this was the last attempt (`final`, or MAX_ATTEMPTS reached), then marks it failed.
    A row that is gone or already sent is left alone (a re-delivered task)."""
    with transaction.atomic():
        delivery = (
            # Lock the delivery row only: its endpoint is optional (e-mail has none), and
            # PostgreSQL cannot lock the nullable side of an outer join.
            Delivery.objects.select_for_update(of=("self",))
            .select_related("endpoint")
            .filter(pk=delivery_id)
            .first()
        )
        if delivery is None or delivery.status != DeliveryStatus.PENDING:
            return delivery
        delivery.attempts += 1
        delivery.save(update_fields=["attempts"])
    error = ""
    try:
        if delivery.channel == Channel.WEBHOOK:
            if delivery.endpoint is None:
                raise DeliveryFailed("The endpoint was deleted.")
            _send_webhook(delivery)
        else:
            _send_email(delivery)
    except DeliveryFailed as exc:
        error = str(exc)
    delivery.error = error
    if not error:
        delivery.status = DeliveryStatus.SENT
        delivery.sent_at = timezone.now()
    elif final or delivery.attempts >= MAX_ATTEMPTS:
        delivery.status = DeliveryStatus.FAILED
    delivery.save(update_fields=["status", "error", "response_code", "sent_at"])
    if error and delivery.status == DeliveryStatus.PENDING:
        raise DeliveryFailed(error)
    return delivery


# --- configuration (admins) ------------------------------------------------------------------


def _check_events(events: Any) -> list[str]:
    if events in (None, ""):
        return []
    if not isinstance(events, list) or not all(isinstance(e, str) for e in events):
        raise ValidationError({"events": "A list of event names."})
    unknown = sorted(set(events) - set(Event.values))
    if unknown:
        raise ValidationError(
            {"events": f"Unknown events: {', '.join(unknown)}; use {', '.join(Event.values)}."}
        )
    return sorted(set(events))


def _check_url(url: Any) -> str:
    if not isinstance(url, str) or not url.strip():
        raise ValidationError({"url": "A URL is required."})
    parts = urlsplit(url.strip())
    if parts.scheme not in {"http", "https"} or not parts.hostname:
        raise ValidationError({"url": "Use an http:// or https:// URL."})
    if parts.username or parts.password:
        raise ValidationError({"url": "Put no credentials in the URL; the secret signs it."})
    if len(url) > 500:
        raise ValidationError({"url": "At most 500 characters."})
    return url.strip()


def _check_secret(secret: Any) -> str:
    if not isinstance(secret, str) or len(secret.strip()) < MIN_SECRET_CHARS:
        raise ValidationError({"secret": f"At least {MIN_SECRET_CHARS} characters."})
    return secret.strip()


def _require_manage(user: Any, project: Project) -> None:
    if not can(user, project, Capability.MANAGE):
        raise PermissionDenied("Only a project admin can configure notifications.")


def new_secret() -> str:
    return secrets_module.token_urlsafe(32)


@transaction.atomic
def create_endpoint(
    project: Project,
    *,
    user: Any,
    url: Any,
    secret: Any = None,
    events: Any = None,
    request: Any = None,
) -> WebhookEndpoint:
    _require_manage(user, project)
    endpoint = WebhookEndpoint.objects.create(
        project=project,
        url=_check_url(url),
        secret_encrypted=encrypt_json({"secret": _check_secret(secret or new_secret())}),
        events=_check_events(events),
        created_by=user,
    )
    audit.record(
        action="notification_webhook.created",
        obj=endpoint,
        user=user,
        request=request,
        project_id=project.pk,
        payload={"url": endpoint.url, "events": endpoint.events},
    )
    return endpoint


@transaction.atomic
def update_endpoint(
    endpoint: WebhookEndpoint, *, user: Any, data: dict[str, Any], request: Any = None
) -> WebhookEndpoint:
    _require_manage(user, endpoint.project)
    changed = []
    if "url" in data:
        endpoint.url = _check_url(data["url"])
        changed.append("url")
    if data.get("secret") not in (None, ""):
        endpoint.secret_encrypted = encrypt_json({"secret": _check_secret(data["secret"])})
        changed.append("secret_encrypted")
    if "events" in data:
        endpoint.events = _check_events(data["events"])
        changed.append("events")
    if "active" in data:
        if not isinstance(data["active"], bool):
            raise ValidationError({"active": "active is true or false."})
        endpoint.active = data["active"]
        changed.append("active")
    if changed:
        endpoint.save(update_fields=changed)
    audit.record(
        action="notification_webhook.updated",
        obj=endpoint,
        user=user,
        request=request,
        project_id=endpoint.project_id,
        # Which fields changed; "secret" is named, its value never is.
        payload={"fields": [f.replace("secret_encrypted", "secret_rotated") for f in changed]},
    )
    return endpoint


@transaction.atomic
def delete_endpoint(endpoint: WebhookEndpoint, *, user: Any, request: Any = None) -> None:
    _require_manage(user, endpoint.project)
    audit.record(
        action="notification_webhook.deleted",
        obj=endpoint,
        user=user,
        request=request,
        project_id=endpoint.project_id,
        payload={"url": endpoint.url},
    )
    endpoint.delete()


@transaction.atomic
def set_email_recipients(
    project: Project,
    *,
    user: Any,
    roles: Any = None,
    addresses: Any = None,
    events: Any = None,
    request: Any = None,
) -> EmailRecipients:
    _require_manage(user, project)
    roles = roles or []
    if not isinstance(roles, list) or set(roles) - set(Role.values):
        raise ValidationError({"roles": f"A list among {', '.join(Role.values)}."})
    addresses = addresses or []
    if not isinstance(addresses, list):
        raise ValidationError({"addresses": "A list of e-mail addresses."})
    from django.core.validators import validate_email

    clean = []
    for address in addresses:
        try:
            validate_email(address)
        except (ValidationError, TypeError):
            raise ValidationError({"addresses": f"{address!r} is not an e-mail address."}) from None
        clean.append(address.strip().lower())
    config, _ = EmailRecipients.objects.update_or_create(
        project=project,
        defaults={
            "roles": sorted(set(roles)),
            "addresses": sorted(set(clean)),
            "events": _check_events(events),
        },
    )
    audit.record(
        action="notification_email.updated",
        obj=config,
        user=user,
        request=request,
        project_id=project.pk,
        payload={"roles": config.roles, "addresses": config.addresses, "events": config.events},
    )
    return config
