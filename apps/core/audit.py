"""Recording AuditEvents. Call `record` inside the same transaction as the change it audits."""

from __future__ import annotations

from typing import Any

from django.db import models
from django.http import HttpRequest

from apps.core.models import AuditEvent

# Keys whose values are never written to an audit payload, whatever the caller passes.
_SECRET_KEYS = {
    "credentials",
    "password",
    "token",
    "consumer_key",
    "consumer_secret",
    "access_token",
    "client_secret",
    "secret",
}


def _scrub(payload: dict[str, Any]) -> dict[str, Any]:
    clean: dict[str, Any] = {}
    for key, value in payload.items():
        if key.lower() in _SECRET_KEYS:
            clean[key] = "***"
        elif isinstance(value, dict):
            clean[key] = _scrub(value)
        else:
            clean[key] = value
    return clean


def _client_ip(request: HttpRequest | None) -> str | None:
    if request is None:
        return None
    return request.META.get("REMOTE_ADDR") or None


def record(
    *,
    action: str,
    obj: models.Model,
    user: Any = None,
    request: HttpRequest | None = None,
    project_id: int | None = None,
    payload: dict[str, Any] | None = None,
) -> AuditEvent:
    if user is None and request is not None:
        user = getattr(request, "user", None)
    authenticated = bool(user is not None and getattr(user, "is_authenticated", False))
    via = "system"
    if request is not None:
        via = "token" if getattr(request, "auth", None) is not None else "session"
    return AuditEvent.objects.create(
        actor=user if authenticated else None,
        actor_name=user.get_username() if authenticated else "",
        via=via,
        ip=_client_ip(request),
        action=action,
        object_type=obj._meta.label_lower,
        object_id=str(obj.pk),
        project_id=project_id,
        payload=_scrub(payload or {}),
    )
