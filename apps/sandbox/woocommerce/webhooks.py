"""wc/v3/webhooks: registering the webhooks a WooCommerce sandbox delivers
(apps/sandbox/webhooks.py sends them).

As WooCommerce: `topic` must be a known `<resource>.<event>` (or `action.<hook>`),
`delivery_url` an http(s) URL, `status` active / paused / disabled; `secret` is write-only
(never answered) and defaults to a random one; a webhook created active is pinged with an
unsigned `webhook_id=<id>` POST; webhooks cannot be trashed, so DELETE needs `force=true`.
"""

from __future__ import annotations

import json
import secrets
from typing import Any
from urllib.parse import urlsplit

from django.db import transaction
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.utils import timezone

from apps.sandbox import webhooks
from apps.sandbox.models import SandboxObject, SandboxStore
from apps.sandbox.services import sandbox_base_url
from apps.sandbox.woocommerce import records
from apps.sandbox.woocommerce.errors import WCError, invalid_json, invalid_params
from apps.sandbox.woocommerce.schema import check_id
from apps.sandbox.woocommerce.views import COLLECTION_ACTIONS, ITEM_ACTIONS, endpoint

STATUSES = ("active", "paused", "disabled")
RESOURCES = ("coupon", "customer", "order", "product")
EVENTS = ("created", "updated", "deleted", "restored")
# The WordPress actions behind each topic, as the API lists them in `hooks`.
HOOKS: dict[str, list[str]] = {
    "product.created": ["woocommerce_process_product_meta", "woocommerce_new_product"],
    "product.updated": ["woocommerce_process_product_meta", "woocommerce_update_product"],
    "product.deleted": ["wp_trash_post"],
    "product.restored": ["untrashed_post"],
    "customer.created": ["user_register", "woocommerce_created_customer"],
    "customer.updated": ["profile_update", "woocommerce_update_customer"],
    "customer.deleted": ["delete_user"],
    "order.created": ["woocommerce_new_order"],
    "order.updated": ["woocommerce_update_order", "woocommerce_order_refunded"],
    "order.deleted": ["wp_trash_post"],
    "order.restored": ["untrashed_post"],
    "coupon.created": ["woocommerce_process_shop_coupon_meta", "woocommerce_new_coupon"],
    "coupon.updated": ["woocommerce_process_shop_coupon_meta", "woocommerce_update_coupon"],
    "coupon.deleted": ["wp_trash_post"],
    "coupon.restored": ["untrashed_post"],
}
DEFAULT_PER_PAGE = 10
MAX_PER_PAGE = 100


def _payload(request: HttpRequest) -> dict[str, Any]:
    if not request.body.strip():
        return {}
    try:
        body = json.loads(request.body)
    except (ValueError, UnicodeDecodeError) as exc:
        raise invalid_json(f"Syntax error: {exc}") from None
    if not isinstance(body, dict):
        raise invalid_json("The body is not a JSON object.")
    return body


def _invalid_id() -> WCError:
    return WCError("woocommerce_rest_shop_webhook_invalid_id", "Invalid ID.", 404)


def _valid_topic(topic: str) -> bool:
    resource, dot, event = topic.partition(".")
    if resource == "action":
        return bool(dot and event)
    return resource in RESOURCES and event in EVENTS


def _valid_url(value: Any) -> bool:
    if not isinstance(value, str):
        return False
    parts = urlsplit(value.strip())
    return parts.scheme in ("http", "https") and bool(parts.netloc)


def _check(payload: dict[str, Any], *, creating: bool) -> dict[str, Any]:
    """The fields given, checked; WCError with WooCommerce's codes otherwise."""
    fields: dict[str, Any] = {}
    if "topic" in payload or creating:
        topic = payload.get("topic")
        if not isinstance(topic, str) or not _valid_topic(topic.strip().lower()):
            raise WCError(
                "woocommerce_rest_webhook_invalid_topic",
                "Webhook topic is required and must be valid.",
                400,
            )
        fields["topic"] = topic.strip().lower()
    if "delivery_url" in payload or creating:
        if not _valid_url(payload.get("delivery_url")):
            raise WCError(
                "woocommerce_rest_webhook_invalid_delivery_url",
                "Webhook delivery URL must be a valid URL starting with http:// or https://.",
                400,
            )
        fields["delivery_url"] = payload["delivery_url"].strip()
    problems: dict[str, str] = {}
    if "status" in payload:
        if payload["status"] not in STATUSES:
            problems["status"] = f"status is not one of {', '.join(STATUSES)}."
        else:
            fields["status"] = payload["status"]
    for name in ("name", "secret"):
        if name in payload:
            if not isinstance(payload[name], str):
                problems[name] = f"{name} is not of type string."
            else:
                fields[name] = payload[name]
    if problems:
        raise invalid_params(problems)
    return fields


def webhook_json(store: SandboxStore, row: SandboxObject) -> dict[str, Any]:
    """The webhook as the API answers it: everything but the secret."""
    data = row.data
    base = f"{sandbox_base_url(store)}/wp-json/wc/v3/webhooks"
    resource, _, event = data["topic"].partition(".")
    created = records.wp_date(row.date_created)
    modified = records.wp_date(row.date_modified)
    return {
        "id": row.object_id,
        "name": data.get("name", ""),
        "status": data.get("status", "active"),
        "topic": data["topic"],
        "resource": resource,
        "event": event,
        "hooks": HOOKS.get(data["topic"], [event] if resource == "action" else []),
        "delivery_url": data.get("delivery_url", ""),
        "date_created": created,
        "date_created_gmt": created,
        "date_modified": modified,
        "date_modified_gmt": modified,
        "_links": {
            "self": [{"href": f"{base}/{row.object_id}"}],
            "collection": [{"href": base}],
        },
    }


def _row(store: SandboxStore, object_id: int) -> SandboxObject:
    row = webhooks.subscriptions(store).filter(object_id=object_id).first()
    if row is None:
        raise _invalid_id()
    return row


def _create(store: SandboxStore, payload: dict[str, Any]) -> SandboxObject:
    fields = _check(payload, creating=True)
    now = timezone.now()
    name = fields.get("name") or f"Webhook created on {now:%b %d, %Y @ %I:%M %p}"
    secret = fields.get("secret") or secrets.token_urlsafe(32)
    with transaction.atomic():
        [object_id] = store.allocate_ids(1)
        row = SandboxObject.objects.create(
            store=store,
            resource=webhooks.WOO_WEBHOOK,
            object_id=object_id,
            name=name[:500],
            data={
                "id": object_id,
                "name": name,
                "status": fields.get("status", "active"),
                "topic": fields["topic"],
                "delivery_url": fields["delivery_url"],
                "api_version": "wp_api_v3",
                "secret_encrypted": webhooks.seal({"secret": secret}),
            },
            date_created=now,
            date_modified=now,
        )
        if row.data["status"] == "active":
            webhooks.ping(store, row)
    return row


def _update(store: SandboxStore, object_id: int, payload: dict[str, Any]) -> SandboxObject:
    fields = _check(payload, creating=False)
    with transaction.atomic():
        row = _row(store, object_id)
        data = dict(row.data)
        if "secret" in fields:
            data["secret_encrypted"] = webhooks.seal({"secret": fields.pop("secret")})
        data.update(fields)
        row.data = data
        row.name = str(data.get("name", ""))[:500]
        row.date_modified = timezone.now()
        row.save(update_fields=["data", "name", "date_modified"])
    return row


def _page(request: HttpRequest, store: SandboxStore) -> HttpResponse:
    problems: dict[str, str] = {}
    numbers: dict[str, int] = {}
    for name, default in (("page", 1), ("per_page", DEFAULT_PER_PAGE)):
        raw = request.GET.get(name, str(default))
        value = check_id(raw)
        if value is None or (name == "per_page" and value > MAX_PER_PAGE):
            problems[name] = f"{name} must be between 1 (inclusive) and {MAX_PER_PAGE}."
        else:
            numbers[name] = value
    status = request.GET.get("status", "all")
    if status not in (*STATUSES, "all"):
        problems["status"] = f"status is not one of {', '.join((*STATUSES, 'all'))}."
    if problems:
        raise invalid_params(problems)
    rows = list(webhooks.subscriptions(store).order_by("-object_id"))
    if status != "all":
        rows = [row for row in rows if row.data.get("status") == status]
    page, per_page = numbers["page"], numbers["per_page"]
    shown = rows[(page - 1) * per_page : page * per_page]
    response = JsonResponse([webhook_json(store, row) for row in shown], safe=False)
    response["X-WP-Total"] = str(len(rows))
    response["X-WP-TotalPages"] = str(-(-len(rows) // per_page))
    return response


@endpoint(COLLECTION_ACTIONS)
def webhook_list(request: HttpRequest, store: SandboxStore) -> HttpResponse:
    if request.method == "GET":
        return _page(request, store)
    return JsonResponse(webhook_json(store, _create(store, _payload(request))), status=201)


@endpoint(ITEM_ACTIONS)
def webhook(request: HttpRequest, store: SandboxStore, object_id: int) -> HttpResponse:
    if request.method == "GET":
        return JsonResponse(webhook_json(store, _row(store, object_id)))
    if request.method == "DELETE":
        if request.GET.get("force", "").lower() not in ("true", "1"):
            raise WCError(
                "woocommerce_rest_trash_not_supported", "Webhooks do not support trashing.", 501
            )
        with transaction.atomic():
            row = _row(store, object_id)
            answer = webhook_json(store, row)
            row.delete()
        return JsonResponse(answer)
    return JsonResponse(webhook_json(store, _update(store, object_id, _payload(request))))
