"""v3/hooks: registering the webhooks a BigCommerce sandbox delivers
(apps/sandbox/webhooks.py sends them).

As BigCommerce: `scope` (store/<resource>/<event>, or store/<resource>/* for all of them) and
`destination` are required, `is_active` defaults to true, `headers` are custom headers sent
with every delivery (the platform signs nothing: a shared-secret header is how a receiver
knows the sender). The platform answers the headers back; the sandbox keeps them encrypted.
Unlike the real API, http:// destinations are accepted (rehearsals run without TLS).
"""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import urlsplit

from django.db import transaction
from django.http import HttpRequest, HttpResponse
from django.utils import timezone

from apps.sandbox import webhooks
from apps.sandbox.bigcommerce.endpoint import endpoint, many, one
from apps.sandbox.bigcommerce.errors import invalid, not_found
from apps.sandbox.bigcommerce.query import pagination, paging
from apps.sandbox.bigcommerce.validation import parse_json
from apps.sandbox.models import SandboxObject, SandboxStore

_SCOPE = re.compile(r"^store/[A-Za-z_]+(/[A-Za-z_]+)*(/\*)?$")
_HEADER_NAME = re.compile(r"^[A-Za-z0-9-]{1,100}$")
MAX_LIMIT = 250


def _check(payload: Any, *, creating: bool) -> dict[str, Any]:
    if not isinstance(payload, dict):
        raise invalid({"body": "must be a JSON object"})
    problems: dict[str, str] = {}
    fields: dict[str, Any] = {}
    if "scope" in payload or creating:
        scope = payload.get("scope")
        if not isinstance(scope, str) or not _SCOPE.match(scope):
            problems["scope"] = "is required: a webhook scope such as store/product/updated"
        else:
            fields["scope"] = scope
    if "destination" in payload or creating:
        destination = payload.get("destination")
        parts = urlsplit(destination) if isinstance(destination, str) else None
        if parts is None or parts.scheme not in ("http", "https") or not parts.netloc:
            problems["destination"] = "is required: an http(s) URL"
        else:
            fields["destination"] = destination
    for name in ("is_active", "events_history_enabled"):
        if name in payload:
            if not isinstance(payload[name], bool):
                problems[name] = "must be a boolean"
            else:
                fields[name] = payload[name]
    if "headers" in payload:
        headers = payload["headers"]
        if headers is None:
            headers = {}
        if not isinstance(headers, dict) or not all(
            isinstance(k, str) and _HEADER_NAME.match(k) and isinstance(v, str)
            for k, v in headers.items()
        ):
            problems["headers"] = "must be an object of header names to string values"
        else:
            fields["headers"] = headers
    if problems:
        raise invalid(problems)
    return fields


def hook_json(store: SandboxStore, row: SandboxObject) -> dict[str, Any]:
    data = row.data
    sealed = data.get("headers_encrypted")
    return {
        "id": row.object_id,
        "client_id": "migrator-sandbox",
        "store_hash": store.key_id,
        "scope": data["scope"],
        "destination": data["destination"],
        "headers": webhooks.unseal(sealed) if sealed else {},
        "is_active": data.get("is_active", True),
        "events_history_enabled": data.get("events_history_enabled", False),
        "created_at": int(row.date_created.timestamp()),
        "updated_at": int(row.date_modified.timestamp()),
    }


def _row(store: SandboxStore, hook_id: int) -> SandboxObject:
    row = webhooks.subscriptions(store).filter(object_id=hook_id).first()
    if row is None:
        raise not_found()
    return row


def _apply(data: dict[str, Any], fields: dict[str, Any]) -> dict[str, Any]:
    data = dict(data)
    if "headers" in fields:
        headers = fields.pop("headers")
        data["headers_encrypted"] = webhooks.seal(headers) if headers else ""
    data.update(fields)
    return data


@endpoint(("GET", "POST"))
def hook_list(request: HttpRequest, sandbox: SandboxStore) -> HttpResponse:
    if request.method == "GET":
        rows = list(webhooks.subscriptions(sandbox).order_by("object_id"))
        page, limit = paging(request.GET, MAX_LIMIT)
        chunk = rows[(page - 1) * limit : page * limit]
        meta = pagination(len(rows), len(chunk), page, limit, request.GET)
        return many([hook_json(sandbox, row) for row in chunk], meta)
    fields = _check(parse_json(request), creating=True)
    now = timezone.now()
    with transaction.atomic():
        [hook_id] = sandbox.allocate_ids(1)
        row = SandboxObject.objects.create(
            store=sandbox,
            resource=webhooks.BIG_HOOK,
            object_id=hook_id,
            name=fields["scope"],
            data=_apply(
                {"id": hook_id, "is_active": True, "events_history_enabled": False}, fields
            ),
            date_created=now,
            date_modified=now,
        )
    return one(hook_json(sandbox, row))


@endpoint(("GET", "PUT", "DELETE"))
def hook(request: HttpRequest, sandbox: SandboxStore, hook_id: int) -> HttpResponse:
    if request.method == "GET":
        return one(hook_json(sandbox, _row(sandbox, hook_id)))
    if request.method == "DELETE":
        with transaction.atomic():
            row = _row(sandbox, hook_id)
            answer = hook_json(sandbox, row)
            row.delete()
        return one(answer)
    fields = _check(parse_json(request), creating=False)
    if not fields:
        raise invalid({"body": "nothing to change"})
    with transaction.atomic():
        row = _row(sandbox, hook_id)
        row.data = _apply(row.data, fields)
        row.name = row.data["scope"]
        row.date_modified = timezone.now()
        row.save(update_fields=["data", "name", "date_modified"])
    return one(hook_json(sandbox, row))
