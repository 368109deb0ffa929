"""The sandboxes' webhook APIs (wc/v3/webhooks, v3/hooks) and their deliveries: the platforms'
shapes, only after a commit, bounded retries, and the duplicate / reorder faults."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json

import pytest
from django.db import transaction

from apps.runs.models import ChangeEvent
from apps.sandbox import webhooks
from apps.sandbox.models import SandboxObject
from apps.sandbox.woocommerce.store import WooStore
from apps.webhooks.services import delivery_url
from tests.webhooks.conftest import SECRET, make_endpoint


def first_product(rehearsal) -> SandboxObject:
    return rehearsal.source.records.filter(resource="product").order_by("object_id").first()


def subscribe(woo, url: str, topic: str = "product.updated", **extra) -> dict:
    body = {"topic": topic, "delivery_url": url, "secret": SECRET, **extra}
    response = woo.post("webhooks", json=body)
    assert response.status_code == 201, response.text
    return response.json()


def sends(outbox, topic=None):
    return [(d, s) for d, s in outbox.sent if topic is None or d.topic == topic]


# --- wc/v3/webhooks ------------------------------------------------------------------------


def test_woocommerce_webhooks_api_creates_lists_updates_and_deletes(rehearsal):
    with rehearsal.woo() as woo:
        created = subscribe(woo, "https://receiver.example.com/hook", name="Products")
        listed = woo.get("webhooks")
        paused = woo.put(f"webhooks/{created['id']}", json={"status": "paused"})
        trash = woo.delete(f"webhooks/{created['id']}")
        deleted = woo.delete(f"webhooks/{created['id']}", params={"force": "true"})
        gone = woo.get(f"webhooks/{created['id']}")

    assert created["topic"] == "product.updated"
    assert (created["resource"], created["event"], created["status"]) == (
        "product",
        "updated",
        "active",
    )
    assert created["delivery_url"] == "https://receiver.example.com/hook"
    assert created["hooks"] and created["_links"]["self"]
    assert listed.headers["X-WP-Total"] == "1"
    assert [item["id"] for item in listed.json()] == [created["id"]]
    assert paused.json()["status"] == "paused"
    assert trash.status_code == 501
    assert trash.json()["code"] == "woocommerce_rest_trash_not_supported"
    assert deleted.status_code == 200
    assert gone.status_code == 404
    # The secret is write-only: never answered, and kept encrypted.
    for response in (listed, paused, deleted):
        assert SECRET not in response.text
    assert SECRET not in json.dumps(list(SandboxObject.objects.values_list("data", flat=True)))


@pytest.mark.parametrize(
    ("body", "code"),
    [
        ({"topic": "product.exploded", "delivery_url": "https://x.example"}, "invalid_topic"),
        ({"delivery_url": "https://x.example"}, "invalid_topic"),
        ({"topic": "order.created", "delivery_url": "ftp://x.example"}, "invalid_delivery_url"),
        ({"topic": "order.created"}, "invalid_delivery_url"),
        ({"topic": "order.created", "delivery_url": "https://x", "status": "on"}, "invalid_param"),
    ],
)
def test_woocommerce_refuses_invalid_webhooks(rehearsal, body, code):
    with rehearsal.woo() as woo:
        response = woo.post("webhooks", json=body)

    assert response.status_code == 400
    assert response.json()["code"].endswith(code)


def test_woocommerce_webhooks_need_credentials(rehearsal, sandbox_http):
    import httpx

    with httpx.Client(transport=sandbox_http) as anonymous:
        response = anonymous.post(
            f"{rehearsal.base}/sandbox/{rehearsal.source.slug}/wp-json/wc/v3/webhooks",
            json={"topic": "product.updated", "delivery_url": "https://x.example"},
        )

    assert response.status_code == 401


# --- WooCommerce deliveries ----------------------------------------------------------------


def test_an_active_webhook_is_pinged_after_it_is_saved(rehearsal, outbox, committed):
    endpoint = make_endpoint(rehearsal.project)
    with committed(), rehearsal.woo() as woo:
        created = subscribe(woo, delivery_url(endpoint))
        assert outbox.sent == []  # not while the request's transaction is open

    [(delivery, statuses)] = outbox.sent
    assert delivery.ping and statuses == [200]
    request = webhooks.build_request(delivery)
    assert request.body == f"webhook_id={created['id']}".encode()
    assert "X-WC-Webhook-Signature" not in request.headers


def test_an_edit_is_delivered_signed_with_the_platforms_headers(rehearsal, outbox, committed):
    endpoint = make_endpoint(rehearsal.project)
    product = first_product(rehearsal)
    with rehearsal.woo() as woo:
        hook = subscribe(woo, delivery_url(endpoint))
    with committed(), rehearsal.woo() as woo:
        assert woo.put(f"products/{product.object_id}", json={"name": "Renamed"}).is_success

    [(delivery, statuses)] = sends(outbox, "product.updated")
    assert statuses == [200]
    assert list(ChangeEvent.objects.values_list("entity", "source_id", "action")) == [
        ("products", str(product.object_id), "updated")
    ]
    request = webhooks.build_request(delivery)
    body = json.loads(request.body)
    assert body["id"] == product.object_id and body["name"] == "Renamed"
    expected = base64.b64encode(hmac.new(SECRET.encode(), request.body, hashlib.sha256).digest())
    assert request.headers["X-WC-Webhook-Signature"] == expected.decode()
    assert request.headers["X-WC-Webhook-Topic"] == "product.updated"
    assert request.headers["X-WC-Webhook-Resource"] == "product"
    assert request.headers["X-WC-Webhook-Event"] == "updated"
    assert request.headers["X-WC-Webhook-ID"] == str(hook["id"])
    assert request.headers["X-WC-Webhook-Delivery-ID"] == delivery.delivery_id
    assert request.headers["X-WC-Webhook-Source"].endswith(f"/sandbox/{rehearsal.source.slug}/")
    # A queued delivery names ids only: no secret travels through the broker.
    assert SECRET not in json.dumps(delivery.message())


def test_a_delete_is_delivered_as_its_id(rehearsal, outbox, committed):
    endpoint = make_endpoint(rehearsal.project)
    product = first_product(rehearsal)
    with rehearsal.woo() as woo:
        subscribe(woo, delivery_url(endpoint), topic="product.deleted")
    with committed(), rehearsal.woo() as woo:
        assert woo.delete(f"products/{product.object_id}", params={"force": "true"}).is_success

    [(delivery, statuses)] = sends(outbox, "product.deleted")
    assert statuses == [200]
    assert json.loads(webhooks.build_request(delivery).body) == {"id": product.object_id}
    assert ChangeEvent.objects.get().action == "deleted"


def test_customers_and_orders_are_delivered_too(rehearsal, outbox, committed):
    endpoint = make_endpoint(rehearsal.project)
    rehearsal.project.entities = ["products", "customers"]
    rehearsal.project.save()
    with rehearsal.woo() as woo:
        subscribe(woo, delivery_url(endpoint), topic="customer.created")
    with committed(), rehearsal.woo() as woo:
        response = woo.post("customers", json={"email": "new.buyer@example.com"})
        assert response.status_code == 201, response.text

    assert [d.topic for d, _ in outbox.sent] == ["customer.created"]
    event = ChangeEvent.objects.get()
    assert (event.entity, event.source_id) == ("customers", str(response.json()["id"]))


def test_a_variation_change_is_its_products_update(rehearsal, outbox, committed):
    endpoint = make_endpoint(rehearsal.project)
    parent = rehearsal.source.records.filter(resource="variation").first().parent_id
    with rehearsal.woo() as woo:
        subscribe(woo, delivery_url(endpoint))
        variation = woo.get(f"products/{parent}/variations").json()[0]
    with committed(), rehearsal.woo() as woo:
        path = f"products/{parent}/variations/{variation['id']}"
        assert woo.put(path, json={"regular_price": "12.50"}).is_success

    [(delivery, _)] = sends(outbox, "product.updated")
    assert delivery.object_id == parent


def test_a_write_that_rolls_back_sends_nothing(rehearsal, outbox, committed):
    endpoint = make_endpoint(rehearsal.project)
    product = first_product(rehearsal)
    with rehearsal.woo() as woo:
        subscribe(woo, delivery_url(endpoint))

    with committed(), pytest.raises(RuntimeError), transaction.atomic():
        WooStore(rehearsal.source).update_products([{"id": product.object_id, "name": "X"}])
        raise RuntimeError("the caller's transaction fails after the write")

    assert sends(outbox, "product.updated") == []
    assert not ChangeEvent.objects.exists()


def test_a_paused_webhook_sends_nothing(rehearsal, outbox, committed):
    endpoint = make_endpoint(rehearsal.project)
    product = first_product(rehearsal)
    with rehearsal.woo() as woo:
        subscribe(woo, delivery_url(endpoint), status="paused")
    with committed(), rehearsal.woo() as woo:
        assert woo.put(f"products/{product.object_id}", json={"name": "Renamed"}).is_success

    assert outbox.sent == []


def test_a_failing_receiver_is_retried_a_bounded_number_of_times(rehearsal, outbox, committed):
    product = first_product(rehearsal)
    with rehearsal.woo() as woo:
        subscribe(woo, "http://127.0.0.1:8000/webhooks/woocommerce/no-such-endpoint/")
    with committed(), rehearsal.woo() as woo:
        assert woo.put(f"products/{product.object_id}", json={"name": "Renamed"}).is_success

    [(_, statuses)] = sends(outbox, "product.updated")
    assert statuses == [404] * webhooks.MAX_ATTEMPTS


def test_a_duplicated_delivery_is_recorded_once(rehearsal, outbox, committed):
    endpoint = make_endpoint(rehearsal.project)
    product = first_product(rehearsal)
    webhooks.update_delivery_faults(rehearsal.source, user=None, duplicate_rate=1.0)
    with rehearsal.woo() as woo:
        subscribe(woo, delivery_url(endpoint))
    with committed(), rehearsal.woo() as woo:
        assert woo.put(f"products/{product.object_id}", json={"name": "Renamed"}).is_success

    sent = sends(outbox, "product.updated")
    assert len(sent) == 2
    assert sent[0][0].delivery_id == sent[1][0].delivery_id
    assert [statuses for _, statuses in sent] == [[200], [200]]
    assert ChangeEvent.objects.count() == 1


def test_a_held_delivery_is_overtaken_by_the_next(rehearsal, outbox, committed):
    endpoint = make_endpoint(rehearsal.project)
    product = first_product(rehearsal)
    with rehearsal.woo() as woo:
        subscribe(woo, delivery_url(endpoint), topic="product.updated")
        subscribe(woo, delivery_url(endpoint), topic="product.deleted")
    webhooks.update_delivery_faults(rehearsal.source, user=None, reorder_rate=1.0)
    with committed(), rehearsal.woo() as woo:
        assert woo.put(f"products/{product.object_id}", json={"name": "Renamed"}).is_success
    assert outbox.held  # waiting for a later delivery to overtake it
    webhooks.update_delivery_faults(rehearsal.source, user=None, reorder_rate=0.0)
    with committed(), rehearsal.woo() as woo:
        assert woo.delete(f"products/{product.object_id}", params={"force": "true"}).is_success

    topics = [d.topic for d, _ in outbox.sent if not d.ping]
    assert topics == ["product.deleted", "product.updated"]
    assert sorted(ChangeEvent.objects.values_list("action", flat=True)) == ["deleted", "updated"]


def test_delivery_fault_settings_are_checked_and_audited(rehearsal, admin_user):
    from django.core.exceptions import ValidationError

    from apps.core.models import AuditEvent

    with pytest.raises(ValidationError):
        webhooks.update_delivery_faults(rehearsal.source, user=admin_user, duplicate_rate=2)
    with pytest.raises(ValidationError):
        webhooks.update_delivery_faults(rehearsal.source, user=admin_user, hold_ms=1.5)

    changed = webhooks.update_delivery_faults(
        rehearsal.source, user=admin_user, duplicate_rate=0.25, seed=3
    )

    assert changed["duplicate_rate"] == {"old": 0.0, "new": 0.25}
    assert webhooks.delivery_faults(rehearsal.source.pk).seed == 3
    assert AuditEvent.objects.filter(action="sandbox.webhook_faults_changed").count() == 1
    assert webhooks.update_delivery_faults(rehearsal.source, user=admin_user, seed=3) == {}


# --- production path: Celery ---------------------------------------------------------------


def test_without_the_test_outbox_deliveries_go_to_celery(rehearsal, committed, monkeypatch):
    queued = []
    monkeypatch.setattr(
        webhooks.deliver_webhook,
        "apply_async",
        lambda args, countdown=None: queued.append((args[0], countdown)),
    )
    endpoint = make_endpoint(rehearsal.project)
    product = first_product(rehearsal)
    with rehearsal.woo() as woo:
        subscribe(woo, delivery_url(endpoint))
    webhooks.update_delivery_faults(rehearsal.source, user=None, reorder_rate=1.0, hold_ms=1500)

    assert isinstance(webhooks.current_outbox(), webhooks.CeleryOutbox)
    with committed(), rehearsal.woo() as woo:
        assert woo.put(f"products/{product.object_id}", json={"name": "Renamed"}).is_success
        assert queued == []  # only after the commit

    [(message, countdown)] = [q for q in queued if q[0]["topic"] == "product.updated"]
    assert countdown == 1.5  # held back: later deliveries overtake it
    assert message["object_id"] == product.object_id and message["attempt"] == 1


def test_the_celery_task_retries_with_backoff_then_gives_up(monkeypatch):
    queued = []
    monkeypatch.setattr(
        webhooks.deliver_webhook,
        "apply_async",
        lambda args, countdown=None: queued.append((args[0], countdown)),
    )
    monkeypatch.setattr(webhooks, "attempt", lambda delivery, client: None)
    delivery = webhooks.Delivery(
        store_id=1,
        subscription_id=2,
        topic="product.updated",
        resource="product",
        object_id=3,
        event="updated",
        delivery_id="d",
        created_at=0,
    )

    webhooks.deliver_webhook(delivery.message())
    [(retry, countdown)] = queued
    assert retry["attempt"] == 2 and retry["delivery_id"] == "d"
    assert countdown == webhooks.RETRY_DELAYS_SECONDS[0]

    queued.clear()
    webhooks.deliver_webhook({**delivery.message(), "attempt": webhooks.MAX_ATTEMPTS})
    assert queued == []


def test_the_celery_task_sends_nothing_for_a_deleted_subscription(db, monkeypatch):
    monkeypatch.setattr(
        webhooks.deliver_webhook, "apply_async", lambda *a, **k: pytest.fail("no retry")
    )
    message = webhooks.Delivery(
        store_id=999,
        subscription_id=999,
        topic="product.updated",
        resource="product",
        object_id=3,
        event="updated",
        delivery_id="d",
        created_at=0,
    ).message()

    webhooks.deliver_webhook(message)  # nothing left to send: done, not retried


# --- v3/hooks ------------------------------------------------------------------------------


def test_bigcommerce_hooks_api_creates_lists_updates_and_deletes(rehearsal):
    header = {"X-Migrator-Webhook-Secret": SECRET}
    with rehearsal.big() as big:
        created = big.post(
            "hooks",
            json={
                "scope": "store/product/*",
                "destination": "https://r.example/h",
                "headers": header,
            },
        )
        listed = big.get("hooks")
        updated = big.put(f"hooks/{created.json()['data']['id']}", json={"is_active": False})
        deleted = big.delete(f"hooks/{created.json()['data']['id']}")
        gone = big.get(f"hooks/{created.json()['data']['id']}")
        refused = big.post("hooks", json={"scope": "product", "destination": "nowhere"})

    assert created.status_code == 200, created.text
    data = created.json()["data"]
    assert data["scope"] == "store/product/*" and data["is_active"] is True
    assert data["headers"] == header  # BigCommerce answers the headers back
    assert data["store_hash"] == rehearsal.target.key_id
    assert listed.json()["meta"]["pagination"]["total"] == 1
    assert updated.json()["data"]["is_active"] is False
    assert deleted.status_code == 200 and gone.status_code == 404
    assert refused.status_code == 422
    assert set(refused.json()["errors"]) == {"scope", "destination"}
    stored = json.dumps(list(SandboxObject.objects.values_list("data", flat=True)))
    assert SECRET not in stored


def test_bigcommerce_delivers_the_light_payload_with_its_headers(rehearsal, outbox, committed):
    endpoint = make_endpoint(rehearsal.project, platform="bigcommerce")
    with rehearsal.big() as big:
        hook = big.post(
            "hooks",
            json={
                "scope": "store/product/*",
                "destination": delivery_url(endpoint),
                "headers": {"X-Migrator-Webhook-Secret": SECRET},
            },
        )
        assert hook.status_code == 200, hook.text
    with committed(), rehearsal.big() as big:
        response = big.post(
            "catalog/products",
            json={"name": "Hook test", "type": "physical", "weight": 1, "price": 5},
        )
        assert response.status_code == 200, response.text

    [(delivery, statuses)] = outbox.sent
    assert statuses == [200]
    request = webhooks.build_request(delivery)
    payload = json.loads(request.body)
    product_id = response.json()["data"]["id"]
    assert payload["scope"] == "store/product/created"
    assert payload["data"] == {"type": "product", "id": product_id}
    assert payload["producer"] == f"stores/{rehearsal.target.key_id}"
    assert set(payload) == {"scope", "store_id", "data", "hash", "created_at", "producer"}
    assert request.headers["X-Migrator-Webhook-Secret"] == SECRET
    assert "X-WC-Webhook-Signature" not in request.headers
    event = ChangeEvent.objects.get()
    assert (event.entity, event.source_id, event.action) == (
        "products",
        str(product_id),
        "created",
    )
