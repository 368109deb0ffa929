"""Webhooks the sandbox stores send, as the platforms send them, for rehearsing delta syncs.

Subscriptions are kept like every other sandbox record, as SandboxObjects in the platform's own
JSON: WooCommerce `webhook` rows (wc/v3/webhooks, apps/sandbox/woocommerce/webhooks.py) and
BigCommerce `hook` rows (v3/hooks, apps/sandbox/bigcommerce/hooks.py). Their secrets (the
WooCommerce signing secret, the BigCommerce custom headers) are stored Fernet-encrypted.

The write paths of both flavours call `notify(store, resource, event, ids)` inside their
transaction. Nothing happens until it commits (`transaction.on_commit`): a rolled-back write
sends nothing, and no delivery ever runs inside the write's transaction. After the commit, the
matching subscriptions are looked up and one Delivery per (subscription, record) is handed to
the outbox:

- production (`CeleryOutbox`, the default): one Celery task per delivery, so the API response
  never waits for the receiver. The task re-reads the subscription (deleted or paused: nothing
  is sent), builds the body at send time as WooCommerce does, signs it, POSTs it, and on a
  failure (transport error or non-2xx) sends itself again later, at most MAX_ATTEMPTS times.
- tests (`deliver_inline(transport)`): the same deliveries, sent synchronously in-process
  through an injected httpx transport, retried without sleeping.

Fault injection, per store (`DeliveryFaults`, edited through `update_delivery_faults`): a
share of deliveries sent twice with the same delivery id (`duplicate_rate`), and a share held
back `hold_ms` so that later deliveries overtake them (`reorder_rate`). A receiver must find
both harmless. Draws are seeded by (seed, subscription, topic, record, event time), so rates of
0 and 1 are exact and the same events replay the same faults.

Shapes: WooCommerce POSTs the resource JSON ({"id": …} for deleted) with the X-WC-Webhook-*
headers and `X-WC-Webhook-Signature` = base64(HMAC-SHA256(body, secret)); a webhook created
active first gets an unsigned `webhook_id=<id>` ping. BigCommerce POSTs the light payload
{scope, store_id, data: {type, id}, hash, created_at, producer} with the hook's custom headers
and no signature.
"""

from __future__ import annotations

import base64
import dataclasses
import hashlib
import hmac
import json
import logging
import math
import random
import secrets
import time
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from typing import Any, Protocol

import httpx
from celery import shared_task
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from apps.core import audit
from apps.core.crypto import decrypt_json, encrypt_json
from apps.sandbox.models import Flavor, SandboxObject, SandboxStore
from apps.sandbox.services import sandbox_base_url

logger = logging.getLogger(__name__)

WOO_WEBHOOK = "webhook"
BIG_HOOK = "hook"
SUBSCRIPTION_RESOURCE = {Flavor.WOOCOMMERCE: WOO_WEBHOOK, Flavor.BIGCOMMERCE: BIG_HOOK}
FAULTS_RESOURCE = "webhook_delivery"

# The sandbox resources each platform sends webhooks for (WooCommerce core has no topics for
# terms; BigCommerce has store/category/*), and their name in the topic or scope.
WOO_TOPIC_RESOURCES = {"product": "product", "customer": "customer", "order": "order"}
BIG_SCOPE_RESOURCES = {
    "product": "product",
    "customer": "customer",
    "order": "order",
    "category": "category",
}

# Bounded retries: a receiver that keeps failing stops being tried after this many attempts.
MAX_ATTEMPTS = 4
RETRY_DELAYS_SECONDS = (5.0, 30.0, 120.0)
DELIVERY_TIMEOUT_SECONDS = 10.0
WOO_USER_AGENT = "WooCommerce/9.4.0 Hookshot (WordPress/6.7; migrator sandbox)"


# --- subscriptions -------------------------------------------------------------------------


def seal(values: dict[str, str]) -> str:
    """Encrypt a subscription's secret values (they are registered with the log filter)."""
    return encrypt_json(values)


def unseal(token: str) -> dict[str, str]:
    return decrypt_json(token)


def subscriptions(store: SandboxStore) -> Any:
    return SandboxObject.objects.filter(store=store, resource=SUBSCRIPTION_RESOURCE[store.flavor])


def topic_for(flavor: str, resource: str, event: str) -> str | None:
    """product + updated → "product.updated" (WooCommerce) / "store/product/updated"."""
    if flavor == Flavor.WOOCOMMERCE:
        name = WOO_TOPIC_RESOURCES.get(resource)
        return f"{name}.{event}" if name else None
    name = BIG_SCOPE_RESOURCES.get(resource)
    return f"store/{name}/{event}" if name else None


def _matches(flavor: str, data: dict[str, Any], topic: str) -> bool:
    if flavor == Flavor.WOOCOMMERCE:
        return data.get("status") == "active" and data.get("topic") == topic
    if not data.get("is_active"):
        return False
    scope = str(data.get("scope", ""))
    # BigCommerce's wildcard: store/product/* covers every product event.
    return scope == topic or (scope.endswith("/*") and topic.startswith(scope[:-1]))


# --- fault settings ------------------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class DeliveryFaults:
    duplicate_rate: float = 0.0
    reorder_rate: float = 0.0
    hold_ms: int = 2000
    seed: int = 0


# field → (low, high, integer)
FAULT_LIMITS: dict[str, tuple[float, float, bool]] = {
    "duplicate_rate": (0, 1, False),
    "reorder_rate": (0, 1, False),
    "hold_ms": (0, 600_000, True),
    "seed": (0, 2**31 - 1, True),
}


def delivery_faults(store_id: int) -> DeliveryFaults:
    data = (
        SandboxObject.objects.filter(store_id=store_id, resource=FAULTS_RESOURCE, object_id=0)
        .values_list("data", flat=True)
        .first()
    )
    if not data:
        return DeliveryFaults()
    return DeliveryFaults(**{k: v for k, v in data.items() if k in FAULT_LIMITS})


def _clean_faults(changes: dict[str, Any]) -> dict[str, int | float]:
    errors: dict[str, str] = {}
    cleaned: dict[str, int | float] = {}
    for name, value in changes.items():
        if name not in FAULT_LIMITS:
            errors[name] = "Not a webhook delivery setting."
            continue
        low, high, integer = FAULT_LIMITS[name]
        # bool is an int to Python, never a rate to a user; NaN compares oddly.
        valid = isinstance(value, int | float) and not isinstance(value, bool)
        valid = valid and math.isfinite(value) and low <= value <= high
        if valid and integer and not float(value).is_integer():
            valid = False
        if not valid:
            kind = "a whole number" if integer else "a number"
            errors[name] = f"Must be {kind} from {low:g} to {high:g}."
        else:
            cleaned[name] = int(value) if integer else float(value)
    if errors:
        raise ValidationError(errors)
    return cleaned


@transaction.atomic
def update_delivery_faults(
    sandbox: SandboxStore, *, user: Any, request: Any = None, **changes: Any
) -> dict[str, dict[str, Any]]:
    """Change a sandbox's webhook delivery faults; audited. Returns {field: {"old", "new"}}."""
    values = _clean_faults(changes)
    row, _ = SandboxObject.objects.select_for_update().get_or_create(
        store=sandbox,
        resource=FAULTS_RESOURCE,
        object_id=0,
        defaults={"data": {}, "date_created": timezone.now(), "date_modified": timezone.now()},
    )
    current = dataclasses.asdict(
        DeliveryFaults(**{k: v for k, v in row.data.items() if k in FAULT_LIMITS})
    )
    changed = {
        name: {"old": current[name], "new": value}
        for name, value in values.items()
        if current[name] != value
    }
    if not changed:
        return {}
    row.data = {**current, **{name: diff["new"] for name, diff in changed.items()}}
    row.date_modified = timezone.now()
    row.save(update_fields=["data", "date_modified"])
    audit.record(
        action="sandbox.webhook_faults_changed",
        obj=sandbox,
        user=user,
        request=request,
        payload={"sandbox": sandbox.slug, "changed": changed},
    )
    return changed


def _draw(faults: DeliveryFaults, delivery: Delivery, salt: str) -> float:
    # A string seed is hashed with SHA-512 by random.seed: the same in every process.
    key = (
        f"{faults.seed}:{delivery.subscription_id}:{delivery.topic}:{delivery.object_id}:"
        f"{delivery.created_at}:{salt}"
    )
    return random.Random(key).random()


# --- deliveries ----------------------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class Delivery:
    """One POST to one subscription. Holds ids only: the secret and the body are read when
    it is sent, so a queued message never carries a secret."""

    store_id: int
    subscription_id: int  # the subscription's SandboxObject pk
    topic: str
    resource: str  # the sandbox resource ("product"), WooCommerce reads the body from it
    object_id: int
    event: str
    delivery_id: str
    created_at: int  # unix time of the change (BigCommerce's created_at)
    attempt: int = 1
    ping: bool = False

    def message(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    @classmethod
    def from_message(cls, message: dict[str, Any]) -> Delivery:
        names = {field.name for field in dataclasses.fields(cls)}
        return cls(**{k: v for k, v in message.items() if k in names})


@dataclasses.dataclass(frozen=True)
class Request:
    url: str
    body: bytes
    headers: dict[str, str]


def woo_signature(body: bytes, secret: str) -> str:
    digest = hmac.new(secret.encode(), body, hashlib.sha256).digest()
    return base64.b64encode(digest).decode()


def _compact(value: Any) -> bytes:
    # WordPress's wp_json_encode and BigCommerce both send compact JSON.
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False).encode()


def _woo_request(delivery: Delivery, store: SandboxStore, data: dict[str, Any]) -> Request:
    url = str(data.get("delivery_url", ""))
    if delivery.ping:
        body = f"webhook_id={int(data.get('id', 0))}".encode()
        headers = {
            "Content-Type": "application/x-www-form-urlencoded",
            "User-Agent": WOO_USER_AGENT,
        }
        return Request(url, body, headers)
    record = None
    if delivery.event != "deleted":
        record = (
            SandboxObject.objects.filter(
                store=store, resource=delivery.resource, object_id=delivery.object_id
            )
            .values_list("data", flat=True)
            .first()
        )
    # Built when sent, as WooCommerce builds it: a record gone since is sent as its id only.
    body = _compact(record if record is not None else {"id": delivery.object_id})
    secret = unseal(data.get("secret_encrypted", "")).get("secret", "")
    resource, _, event = delivery.topic.partition(".")
    headers = {
        "Content-Type": "application/json",
        "User-Agent": WOO_USER_AGENT,
        "X-WC-Webhook-Source": sandbox_base_url(store) + "/",
        "X-WC-Webhook-Topic": delivery.topic,
        "X-WC-Webhook-Resource": resource,
        "X-WC-Webhook-Event": event,
        "X-WC-Webhook-Signature": woo_signature(body, secret),
        "X-WC-Webhook-ID": str(data.get("id", "")),
        "X-WC-Webhook-Delivery-ID": delivery.delivery_id,
    }
    return Request(url, body, headers)


def _big_request(delivery: Delivery, store: SandboxStore, data: dict[str, Any]) -> Request:
    payload_data = {"type": BIG_SCOPE_RESOURCES[delivery.resource], "id": delivery.object_id}
    payload = {
        "scope": delivery.topic,
        "store_id": str(store.pk),
        "data": payload_data,
        # BigCommerce: the JSON of `data` through SHA-1 (an identifier, not a signature).
        "hash": hashlib.sha1(_compact(payload_data), usedforsecurity=False).hexdigest(),
        "created_at": delivery.created_at,
        "producer": f"stores/{store.key_id}",
    }
    custom = unseal(data.get("headers_encrypted", "")) if data.get("headers_encrypted") else {}
    headers = {**custom, "Content-Type": "application/json"}
    return Request(str(data.get("destination", "")), _compact(payload), headers)


def build_request(delivery: Delivery) -> Request | None:
    """The request a delivery sends now; None when there is nothing to send any more (the
    store or the subscription is gone, or the subscription was paused)."""
    store = SandboxStore.objects.filter(pk=delivery.store_id).first()
    row = (
        SandboxObject.objects.filter(pk=delivery.subscription_id, store_id=delivery.store_id)
        .only("data")
        .first()
    )
    if store is None or row is None:
        return None
    data = row.data
    if store.flavor == Flavor.WOOCOMMERCE:
        if data.get("status") != "active":
            return None
        return _woo_request(delivery, store, data)
    if not data.get("is_active"):
        return None
    return _big_request(delivery, store, data)


def attempt(delivery: Delivery, client: httpx.Client) -> int | None:
    """Send a delivery once. The receiver's status code; None if it could not be reached, 0
    when there was nothing left to send. A 2xx (or 0) is a success."""
    request = build_request(delivery)
    if request is None:
        return 0
    try:
        response = client.post(request.url, content=request.body, headers=request.headers)
    except httpx.HTTPError as exc:
        # The URL, never the headers: they carry the signature or a shared secret.
        logger.info(
            "webhook %s to %s failed (attempt %s): %s",
            delivery.topic,
            request.url,
            delivery.attempt,
            type(exc).__name__,
        )
        return None
    if not 200 <= response.status_code < 300:
        logger.info(
            "webhook %s to %s answered %s (attempt %s)",
            delivery.topic,
            request.url,
            response.status_code,
            delivery.attempt,
        )
    return response.status_code


def succeeded(status: int | None) -> bool:
    return status is not None and (status == 0 or 200 <= status < 300)


# --- outboxes ------------------------------------------------------------------------------


class Outbox(Protocol):
    def submit(self, delivery: Delivery, *, delay: float = 0.0) -> None: ...


class CeleryOutbox:
    """Production: a task per delivery; `delay` holds it back (fault injection)."""

    def submit(self, delivery: Delivery, *, delay: float = 0.0) -> None:
        deliver_webhook.apply_async(args=[delivery.message()], countdown=delay or None)


class InlineOutbox:
    """Tests: deliveries are sent at once, in-process, through `transport`. A held delivery
    goes out after the next one that is not held (or when the outbox closes), which is what a
    hold does in production: later deliveries overtake it."""

    def __init__(self, transport: httpx.BaseTransport | None) -> None:
        self.client = httpx.Client(transport=transport, timeout=DELIVERY_TIMEOUT_SECONDS)
        self.held: list[Delivery] = []
        # (delivery, status of each attempt), in the order sent.
        self.sent: list[tuple[Delivery, list[int | None]]] = []

    def submit(self, delivery: Delivery, *, delay: float = 0.0) -> None:
        if delay > 0:
            self.held.append(delivery)
            return
        self._send(delivery)
        self.flush()

    def flush(self) -> None:
        held, self.held = self.held, []
        for delivery in held:
            self._send(delivery)

    def _send(self, delivery: Delivery) -> None:
        statuses: list[int | None] = []
        for number in range(1, MAX_ATTEMPTS + 1):
            status = attempt(dataclasses.replace(delivery, attempt=number), self.client)
            statuses.append(status)
            if succeeded(status):
                break
        self.sent.append((delivery, statuses))

    def close(self) -> None:
        self.flush()
        self.client.close()


_outbox: Outbox | None = None


def current_outbox() -> Outbox:
    return _outbox if _outbox is not None else CeleryOutbox()


@contextmanager
def deliver_inline(transport: httpx.BaseTransport | None) -> Iterator[InlineOutbox]:
    """Deliver synchronously through `transport` (tests: a WSGI transport on this server)."""
    global _outbox
    previous, outbox = _outbox, InlineOutbox(transport)
    _outbox = outbox
    try:
        yield outbox
    finally:
        _outbox = previous
        outbox.close()


@shared_task(name="sandbox.deliver_webhook", ignore_result=True)
def deliver_webhook(message: dict[str, Any]) -> None:
    """Send one delivery; on failure enqueue the next attempt with a growing delay."""
    delivery = Delivery.from_message(message)
    with httpx.Client(timeout=DELIVERY_TIMEOUT_SECONDS) as client:
        status = attempt(delivery, client)
    if succeeded(status):
        return
    if delivery.attempt >= MAX_ATTEMPTS:
        logger.warning(
            "webhook %s for %s %s given up after %s attempts",
            delivery.topic,
            delivery.resource,
            delivery.object_id,
            delivery.attempt,
        )
        return
    delay = RETRY_DELAYS_SECONDS[min(delivery.attempt, len(RETRY_DELAYS_SECONDS)) - 1]
    retry = dataclasses.replace(delivery, attempt=delivery.attempt + 1)
    deliver_webhook.apply_async(args=[retry.message()], countdown=delay)


# --- notifying -----------------------------------------------------------------------------


def _new_delivery_id() -> str:
    return secrets.token_hex(16)


def submit(delivery: Delivery, faults: DeliveryFaults) -> None:
    outbox = current_outbox()
    held = faults.reorder_rate > 0 and _draw(faults, delivery, "hold") < faults.reorder_rate
    delay = faults.hold_ms / 1000 if held else 0.0
    outbox.submit(delivery, delay=delay)
    if faults.duplicate_rate > 0 and _draw(faults, delivery, "twice") < faults.duplicate_rate:
        # The same delivery id again, as a platform's retry after a lost answer sends it; a
        # held delivery's copy is held as long, so the copy cannot cancel the reordering.
        outbox.submit(delivery, delay=delay)


def dispatch(store_id: int, flavor: str, resource: str, event: str, ids: list[int], at: int) -> int:
    """Hand the deliveries of one committed change to the outbox; returns how many."""
    topic = topic_for(flavor, resource, event)
    if topic is None:
        return 0
    rows = SandboxObject.objects.filter(
        store_id=store_id, resource=SUBSCRIPTION_RESOURCE[flavor]
    ).values_list("pk", "data")
    matching = [pk for pk, data in rows if _matches(flavor, data, topic)]
    if not matching:
        return 0
    faults = delivery_faults(store_id)
    count = 0
    for subscription_id in matching:
        for object_id in ids:
            delivery = Delivery(
                store_id=store_id,
                subscription_id=subscription_id,
                topic=topic,
                resource=resource,
                object_id=int(object_id),
                event=event,
                delivery_id=_new_delivery_id(),
                created_at=at,
            )
            submit(delivery, faults)
            count += 1
    return count


def notify(store: SandboxStore, resource: str, event: str, ids: Iterable[int]) -> None:
    """Announce committed creates, updates or deletes of `resource` records (by id).

    Call it inside the write's transaction: deliveries start only once it commits, and never
    if it rolls back."""
    wanted = sorted({int(i) for i in ids})
    if not wanted or topic_for(store.flavor, resource, event) is None:
        return
    at = int(time.time())
    args = (store.pk, store.flavor, resource, event, wanted, at)
    # robust: the write has committed; a delivery problem must not turn its answer into a 500.
    transaction.on_commit(lambda: dispatch(*args), robust=True)


def ping(store: SandboxStore, row: SandboxObject) -> None:
    """WooCommerce's test delivery to a webhook just created active (after the commit)."""
    delivery = Delivery(
        store_id=store.pk,
        subscription_id=row.pk,
        topic="ping",
        resource=WOO_WEBHOOK,
        object_id=row.object_id,
        event="ping",
        delivery_id=_new_delivery_id(),
        created_at=int(time.time()),
        ping=True,
    )
    transaction.on_commit(lambda: current_outbox().submit(delivery), robust=True)
