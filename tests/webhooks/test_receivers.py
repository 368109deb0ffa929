"""The receivers: only a verified delivery is recorded, once; anything else is a clear 4xx."""

from __future__ import annotations

import json

import pytest
from django.test import Client

from apps.core.logging import redact
from apps.runs.models import ChangeEvent
from apps.webhooks.models import ReceivedDelivery
from apps.webhooks.receiving import woo_signature
from tests.webhooks.conftest import SECRET, make_endpoint, post_big, post_woo

pytestmark = pytest.mark.django_db

PRODUCT = {"id": 501, "name": "Linen shirt", "sku": "LIN-1", "regular_price": "49.00"}


def post_signature(payload) -> str:
    return woo_signature(SECRET, json.dumps(payload).encode())


def events(project):
    return list(
        ChangeEvent.objects.filter(project=project).values_list("entity", "source_id", "action")
    )


def test_a_validly_signed_delivery_records_one_change_event(project):
    endpoint = make_endpoint(project)

    response = post_woo(endpoint, PRODUCT, topic="product.updated", delivery_id="abc")

    assert response.status_code == 200, response.content
    assert response.json() == {"status": "recorded"}
    assert events(project) == [("products", "501", "updated")]
    assert ChangeEvent.objects.get().delivery_id == "abc"


@pytest.mark.parametrize(
    ("topic", "expected"),
    [
        ("customer.created", ("customers", "501", "created")),
        ("order.deleted", ("orders", "501", "deleted")),
        ("product.restored", ("products", "501", "updated")),
    ],
)
def test_topics_map_to_entities_and_actions(project, topic, expected):
    endpoint = make_endpoint(project)

    assert post_woo(endpoint, {"id": 501}, topic=topic).status_code == 200

    assert events(project) == [expected]


def test_a_bad_signature_is_refused_and_nothing_is_recorded(project):
    endpoint = make_endpoint(project)

    wrong_secret = post_woo(endpoint, PRODUCT, secret="not-the-secret-at-all")
    garbage = post_woo(endpoint, PRODUCT, signature="bm90IGEgc2lnbmF0dXJl")
    # Signed for another body: the signature covers the raw bytes.
    other_body = post_woo(
        endpoint,
        body=json.dumps({**PRODUCT, "id": 502}).encode(),
        signature=post_signature(PRODUCT),
    )

    for response in (wrong_secret, garbage, other_body):
        assert response.status_code == 401
        assert "does not match" in response.json()["detail"]
    assert not ChangeEvent.objects.exists()
    assert not ReceivedDelivery.objects.exists()


def test_a_missing_signature_is_refused(project):
    endpoint = make_endpoint(project)

    response = post_woo(endpoint, PRODUCT, signed=False)

    assert response.status_code == 401
    assert "missing" in response.json()["detail"]
    assert not ChangeEvent.objects.exists()


def test_a_duplicate_delivery_is_recorded_once(project):
    endpoint = make_endpoint(project)

    first = post_woo(endpoint, PRODUCT, delivery_id="same")
    second = post_woo(endpoint, PRODUCT, delivery_id="same")

    assert first.json() == {"status": "recorded"}
    assert second.status_code == 200  # acknowledged, so the platform stops sending it
    assert second.json() == {"status": "duplicate"}
    assert ChangeEvent.objects.count() == 1
    assert ReceivedDelivery.objects.get().event == ChangeEvent.objects.get()


def test_another_change_to_a_record_still_waiting_adds_nothing(project):
    endpoint = make_endpoint(project)

    post_woo(endpoint, PRODUCT, delivery_id="one")
    again = post_woo(endpoint, {**PRODUCT, "name": "Renamed"}, delivery_id="two")

    # The waiting event already makes the next delta read the record as it is then.
    assert again.json() == {"status": "already_pending"}
    assert ChangeEvent.objects.count() == 1
    assert ReceivedDelivery.objects.count() == 2


def test_a_delete_delivered_before_the_update_records_both(project):
    endpoint = make_endpoint(project)

    post_woo(endpoint, {"id": 501}, topic="product.deleted", delivery_id="later")
    post_woo(endpoint, PRODUCT, topic="product.updated", delivery_id="earlier")

    assert sorted(events(project)) == [
        ("products", "501", "deleted"),
        ("products", "501", "updated"),
    ]


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (b"{not json", "not valid JSON"),
        (b"[1, 2]", "not a JSON object"),
        (b'{"name": "no id"}', "id"),
        (b'{"id": "abc"}', "id"),
        (b'{"id": -4}', "id"),
        (b'{"id": true}', "id"),
    ],
)
def test_a_malformed_body_is_a_400_with_a_message(project, body, message):
    endpoint = make_endpoint(project)

    response = post_woo(endpoint, body=body)

    assert response.status_code == 400
    assert message in response.json()["detail"]
    assert not ChangeEvent.objects.exists()


def test_a_delivery_without_a_topic_is_a_400(project):
    endpoint = make_endpoint(project)
    raw = json.dumps(PRODUCT).encode()

    response = Client().post(
        f"/webhooks/woocommerce/{endpoint.token}/",
        data=raw,
        content_type="application/json",
        headers={"X-WC-Webhook-Signature": post_signature(PRODUCT)},
    )

    assert response.status_code == 400
    assert "X-WC-Webhook-Topic" in response.json()["detail"]


def test_an_unknown_token_is_a_404(project):
    make_endpoint(project)

    response = Client().post(
        "/webhooks/woocommerce/no-such-token/",
        data=json.dumps(PRODUCT),
        content_type="application/json",
        headers={"X-WC-Webhook-Signature": post_signature(PRODUCT)},
    )

    assert response.status_code == 404
    assert not ChangeEvent.objects.exists()


def test_a_token_of_the_other_platform_is_a_404(project):
    endpoint = make_endpoint(project, platform="bigcommerce")

    response = Client().post(
        f"/webhooks/woocommerce/{endpoint.token}/",
        data=json.dumps(PRODUCT),
        content_type="application/json",
        headers={"X-WC-Webhook-Signature": post_signature(PRODUCT)},
    )

    assert response.status_code == 404


def test_the_woocommerce_ping_is_answered_200_and_records_nothing(project):
    endpoint = make_endpoint(project)

    response = Client().post(
        f"/webhooks/woocommerce/{endpoint.token}/",
        data="webhook_id=17",
        content_type="application/x-www-form-urlencoded",
    )

    assert response.status_code == 200
    assert response.json() == {"status": "ping"}
    assert not ChangeEvent.objects.exists()


def test_topics_no_entity_follows_are_acknowledged_not_recorded(project):
    project.entities = ["products"]
    project.save()
    endpoint = make_endpoint(project)

    coupon = post_woo(endpoint, {"id": 9}, topic="coupon.updated", delivery_id="c")
    out_of_scope = post_woo(endpoint, {"id": 9}, topic="order.created", delivery_id="o")

    assert coupon.json() == {"status": "ignored"}
    assert out_of_scope.json() == {"status": "ignored"}
    assert not ChangeEvent.objects.exists()


def test_receivers_take_posts_only_and_need_no_session_or_csrf(project):
    endpoint = make_endpoint(project)

    assert Client().get(f"/webhooks/woocommerce/{endpoint.token}/").status_code == 405
    # enforce_csrf_checks: a browser-style CSRF check would refuse this POST.
    strict = Client(enforce_csrf_checks=True)
    raw = json.dumps(PRODUCT).encode()
    response = strict.post(
        f"/webhooks/woocommerce/{endpoint.token}/",
        data=raw,
        content_type="application/json",
        headers={
            "X-WC-Webhook-Topic": "product.updated",
            "X-WC-Webhook-Signature": post_signature(PRODUCT),
        },
    )
    assert response.status_code == 200


def test_the_endpoint_secret_is_masked_in_logs(project):
    endpoint = make_endpoint(project)

    assert endpoint.secret() == SECRET
    assert redact(f"signing with {SECRET}") == "signing with ***"


# --- BigCommerce ---------------------------------------------------------------------------


def light(scope: str, record_id: int = 77, **data) -> dict:
    return {
        "scope": scope,
        "store_id": "1025646",
        "data": {"type": scope.split("/")[1], "id": record_id, **data},
        "hash": "352e4afc6dd3fc85ea26bfdf3f91852604d57528",
        "created_at": 1561482670,
        "producer": "stores/abc123",
    }


def test_a_bigcommerce_light_payload_with_the_secret_header_is_recorded(project):
    endpoint = make_endpoint(project, platform="bigcommerce")

    response = post_big(endpoint, light("store/product/updated"))

    assert response.status_code == 200, response.content
    assert events(project) == [("products", "77", "updated")]


@pytest.mark.parametrize(
    ("payload", "expected"),
    [
        (light("store/customer/created", 5), ("customers", "5", "created")),
        (light("store/order/archived", 6), ("orders", "6", "deleted")),
        (light("store/order/statusUpdated", 6), ("orders", "6", "updated")),
        (light("store/category/deleted", 8), ("categories", "8", "deleted")),
        (light("store/product/inventory/updated", 9), ("products", "9", "updated")),
        # An address event names the address; its customer is what changed.
        (
            light("store/customer/address/updated", 60, address={"customer_id": 32}),
            ("customers", "32", "updated"),
        ),
    ],
)
def test_bigcommerce_scopes_map_to_entities_and_actions(project, payload, expected):
    endpoint = make_endpoint(project, platform="bigcommerce")

    assert post_big(endpoint, payload).status_code == 200

    assert events(project) == [expected]


def test_a_wrong_or_missing_secret_header_is_refused(project):
    endpoint = make_endpoint(project, platform="bigcommerce")

    wrong = post_big(endpoint, light("store/product/updated"), secret="guessing-the-secret")
    missing = post_big(endpoint, light("store/product/updated"), secret=None)

    assert wrong.status_code == 401
    assert missing.status_code == 401
    assert not ChangeEvent.objects.exists()


@pytest.mark.parametrize(
    "body",
    [
        b"not json",
        b'{"scope": "store/product/updated"}',
        b'{"scope": "product", "data": {"id": 1}}',
        b'{"scope": "store/product/updated", "data": {"id": "x"}}',
    ],
)
def test_a_malformed_bigcommerce_payload_is_a_400(project, body):
    endpoint = make_endpoint(project, platform="bigcommerce")

    response = post_big(endpoint, body=body)

    assert response.status_code == 400
    assert response.json()["detail"]
    assert not ChangeEvent.objects.exists()


def test_bigcommerce_scopes_no_entity_follows_are_acknowledged(project):
    endpoint = make_endpoint(project, platform="bigcommerce")

    response = post_big(endpoint, light("store/cart/created"))

    assert response.json() == {"status": "ignored"}
    assert not ChangeEvent.objects.exists()
