"""Turning a verified webhook delivery into a ChangeEvent for the next delta.

A delivery only says "record X of entity E was created / updated / deleted": the delta reads
the current record by id (apps/runs/planning.py `_event_ids`). That is why duplicate and
out-of-order deliveries are harmless: however many times, in whatever order, the events
arrive, the delta reads what the source holds when it runs (and a "deleted" is believed only
once the source no longer has the record, apps/runs/deletes.py).

Duplicates are still kept out of the table: a delivery id (WooCommerce sends one) is recorded
once, under a unique key; and an event equal to one still waiting for a delta (same entity,
record and action, not yet taken by a run) adds nothing, since that one triggers the same read.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from django.db import IntegrityError, transaction

from apps.runs.models import ChangeEvent
from apps.webhooks.models import ReceivedDelivery, WebhookEndpoint

# The platforms' resource names → the project's entities.
ENTITIES = {
    "product": "products",
    "customer": "customers",
    "order": "orders",
    "category": "categories",
}
WOO_ACTIONS = {
    "created": "created",
    "updated": "updated",
    "deleted": "deleted",
    # Restored from the trash: the record is back, as it is now.
    "restored": "updated",
}
BIG_ACTIONS = {
    "created": "created",
    "updated": "updated",
    "deleted": "deleted",
    # BigCommerce "deletes" an order by archiving it; the delta checks the source before
    # believing any delete.
    "archived": "deleted",
}
_PING = re.compile(rb"webhook_id=\d+")
_MAX_ID_LENGTH = 64


class Malformed(Exception):
    """A delivery that passed authentication but cannot be understood (answered 400)."""


@dataclass(frozen=True)
class Notice:
    """What one delivery says. `entity` None: a topic no project entity follows."""

    entity: str | None
    source_id: str = ""
    action: str = ""
    # Unique per delivery at this endpoint ("" when the platform sends no delivery id).
    key: str = ""
    delivery_id: str = ""


# --- authenticity --------------------------------------------------------------------------


def woo_signature(secret: str, body: bytes) -> str:
    """base64(HMAC-SHA256(raw body, secret)): WooCommerce's X-WC-Webhook-Signature."""
    return base64.b64encode(hmac.new(secret.encode(), body, hashlib.sha256).digest()).decode()


def woo_signature_ok(secret: str, body: bytes, signature: str) -> bool:
    expected = woo_signature(secret, body).encode()
    return bool(secret) and hmac.compare_digest(expected, signature.strip().encode())


def shared_secret_ok(secret: str, given: str) -> bool:
    return bool(secret) and hmac.compare_digest(secret.encode(), given.encode())


def is_woo_ping(body: bytes) -> bool:
    """WooCommerce's test delivery when a webhook is saved: an unsigned form body."""
    return _PING.fullmatch(body.strip()) is not None


# --- parsing -------------------------------------------------------------------------------


def _json_object(body: bytes) -> dict[str, Any]:
    try:
        data = json.loads(body)
    except (ValueError, UnicodeDecodeError):
        raise Malformed("The body is not valid JSON.") from None
    if not isinstance(data, dict):
        raise Malformed("The body is not a JSON object.")
    return data


def _record_id(value: Any, where: str) -> str:
    if isinstance(value, bool) or not isinstance(value, int | str):
        raise Malformed(f"{where} must be a record id (a positive integer).")
    text = str(value).strip()
    if not text.isdigit() or int(text) <= 0 or len(text) > _MAX_ID_LENGTH:
        raise Malformed(f"{where} must be a record id (a positive integer).")
    return str(int(text))


def parse_woocommerce(headers: Mapping[str, str], body: bytes) -> Notice:
    topic = headers.get("X-WC-Webhook-Topic", "").strip().lower()
    if not topic:
        resource = headers.get("X-WC-Webhook-Resource", "").strip().lower()
        event = headers.get("X-WC-Webhook-Event", "").strip().lower()
        topic = f"{resource}.{event}" if resource and event else ""
    if not topic or "." not in topic:
        raise Malformed("X-WC-Webhook-Topic is missing or not <resource>.<event>.")
    data = _json_object(body)
    resource, _, event = topic.partition(".")
    entity, action = ENTITIES.get(resource), WOO_ACTIONS.get(event)
    if entity is None or action is None:
        return Notice(entity=None)
    source_id = _record_id(data.get("id"), "The body's id")
    delivery_id = headers.get("X-WC-Webhook-Delivery-ID", "").strip()[:120]
    # Delivery ids are unique per webhook; one endpoint receives several webhooks.
    webhook_id = headers.get("X-WC-Webhook-ID", "").strip()[:40]
    key = f"wc:{webhook_id}:{delivery_id}" if delivery_id else ""
    return Notice(entity, source_id, action, key, delivery_id)


def parse_bigcommerce(body: bytes) -> Notice:
    payload = _json_object(body)
    scope = payload.get("scope")
    if not isinstance(scope, str) or not scope.startswith("store/") or scope.count("/") < 2:
        raise Malformed("scope must be a webhook scope such as store/product/updated.")
    data = payload.get("data")
    if not isinstance(data, dict):
        raise Malformed("data must be an object with the record's type and id.")
    parts = scope.split("/")
    entity = ENTITIES.get(parts[1])
    if entity is None:
        return Notice(entity=None)
    if len(parts) == 3:
        # store/order/statusUpdated and the like: the record changed.
        action = BIG_ACTIONS.get(parts[2], "updated")
        source_id = _record_id(data.get("id"), "data.id")
    else:
        # A sub-resource changed (inventory, an address, a refund …): its record did.
        action = "updated"
        address = data.get("address")
        owner = address.get("customer_id") if isinstance(address, dict) else None
        source_id = _record_id(owner if owner is not None else data.get("id"), "data.id")
    return Notice(entity, source_id, action)


# --- recording -----------------------------------------------------------------------------

RECORDED = "recorded"
PENDING = "already_pending"
DUPLICATE = "duplicate"
IGNORED = "ignored"


def record(endpoint: WebhookEndpoint, notice: Notice) -> str:
    """Store what a delivery says; returns recorded / already_pending / duplicate / ignored."""
    project = endpoint.project
    if notice.entity is None or notice.entity not in (project.entities or []):
        return IGNORED
    try:
        with transaction.atomic():
            delivery = None
            if notice.key:
                # First, so a concurrent duplicate fails here and its whole transaction (the
                # event included) rolls back.
                delivery = ReceivedDelivery.objects.create(endpoint=endpoint, key=notice.key)
            waiting = ChangeEvent.objects.filter(
                project=project,
                entity=notice.entity,
                source_id=notice.source_id,
                action=notice.action,
                run__isnull=True,
            ).first()
            outcome = PENDING
            if waiting is None:
                waiting = ChangeEvent.objects.create(
                    project=project,
                    entity=notice.entity,
                    source_id=notice.source_id,
                    action=notice.action,
                    delivery_id=notice.delivery_id,
                )
                outcome = RECORDED
            if delivery is not None:
                delivery.event = waiting
                delivery.save(update_fields=["event"])
    except IntegrityError:
        return DUPLICATE
    return outcome
