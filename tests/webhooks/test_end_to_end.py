"""Connect webhooks on a rehearsal project, change the source through its API, and let the
next delta pick the change up — also when deliveries come twice or out of order."""

from __future__ import annotations

from rest_framework.test import APIClient

from apps.core.models import AuditEvent
from apps.runs.choices import Action, RunKind, RunStatus
from apps.runs.engine import run_inline
from apps.runs.models import ChangeEvent, RecordMap
from apps.runs.services import start_run
from apps.sandbox import webhooks
from apps.sandbox.models import Flavor
from apps.sandbox.services import create_sandbox_store, sandbox_base_url
from apps.stores.models import Platform
from apps.stores.services import create_store
from apps.webhooks.models import EndpointStatus, WebhookEndpoint
from apps.webhooks.registration import SECRET_HEADER
from tests.factories import UserFactory


def admin_of(project):
    return project.memberships.get(role="admin").user


def connect(rehearsal, committed):
    client = APIClient()
    client.force_authenticate(admin_of(rehearsal.project))
    with committed():
        response = client.post(f"/api/v1/projects/{rehearsal.project.pk}/webhooks/")
    return response


def run(project, kind):
    return run_inline(start_run(project, kind=kind).pk)


def source_skus(rehearsal) -> set[str]:
    rows = rehearsal.source.records.filter(resource__in=["product", "variation"])
    return {sku for sku in rows.values_list("sku", flat=True) if sku}


def target_skus(rehearsal) -> set[str]:
    rows = rehearsal.target.records.filter(resource__in=["product", "variant"])
    return {sku for sku in rows.values_list("sku", flat=True) if sku}


def test_connect_registers_the_topics_at_the_source(rehearsal, outbox, committed, nested_requests):
    response = connect(rehearsal, committed)

    assert response.status_code == 201, response.content
    body = response.json()
    endpoint = WebhookEndpoint.objects.get(project=rehearsal.project)
    assert body["connected"] and body["status"] == EndpointStatus.CONNECTED
    assert body["delivery_url"].endswith(f"/webhooks/woocommerce/{endpoint.token}/")
    with rehearsal.woo() as woo:
        registered = woo.get("webhooks").json()
    assert sorted(hook["topic"] for hook in registered) == [
        "product.created",
        "product.deleted",
        "product.updated",
    ]
    assert {hook["delivery_url"] for hook in registered} == {body["delivery_url"]}
    # WooCommerce pinged each new webhook; the receiver answered.
    pings = [statuses for delivery, statuses in outbox.sent if delivery.ping]
    assert pings == [[200]] * 3
    # The secret went to the source and nowhere else.
    assert endpoint.secret() not in response.content.decode()
    audit = AuditEvent.objects.get(action="webhooks.connected")
    assert audit.project_id == rehearsal.project.pk
    assert endpoint.secret() not in str(audit.payload)


def test_connecting_again_leaves_one_subscription_per_topic(
    rehearsal, outbox, committed, nested_requests
):
    first = connect(rehearsal, committed)
    token = WebhookEndpoint.objects.get().token

    again = connect(rehearsal, committed)

    assert (first.status_code, again.status_code) == (201, 200)
    assert WebhookEndpoint.objects.get().token == token
    with rehearsal.woo() as woo:
        assert len(woo.get("webhooks").json()) == 3


def test_an_edit_at_the_source_reaches_the_target_through_the_next_delta(
    rehearsal, outbox, committed, nested_requests
):
    assert run(rehearsal.project, RunKind.FULL).status == RunStatus.SUCCEEDED
    connect(rehearsal, committed)
    record_map = RecordMap.objects.filter(project=rehearsal.project).order_by("id").first()

    with committed(), rehearsal.woo() as woo:
        path = f"products/{record_map.source_id}"
        assert woo.put(path, json={"name": "Pushed by a webhook"}).is_success

    event = ChangeEvent.objects.get()
    assert (event.entity, event.source_id, event.action) == (
        "products",
        record_map.source_id,
        "updated",
    )
    delta = run(rehearsal.project, RunKind.DELTA)
    assert delta.status == RunStatus.SUCCEEDED, delta.error
    event.refresh_from_db()
    assert event.run_id == delta.pk
    with rehearsal.big() as big:
        product = big.get(f"catalog/products/{record_map.target_id}").json()["data"]
    assert product["name"] == "Pushed by a webhook"


def test_duplicate_and_out_of_order_deliveries_are_harmless(
    rehearsal, outbox, committed, nested_requests
):
    project = rehearsal.project
    project.delete_policies = {"products": "propagate"}
    project.save()
    assert run(project, RunKind.FULL).status == RunStatus.SUCCEEDED
    assert target_skus(rehearsal) == source_skus(rehearsal)
    connect(rehearsal, committed)
    edited, removed = RecordMap.objects.filter(project=project).order_by("id")[:2]

    # Every delivery twice; the update of `removed` held back until its delete has arrived.
    webhooks.update_delivery_faults(rehearsal.source, user=None, duplicate_rate=1.0)
    with committed(), rehearsal.woo() as woo:
        assert woo.put(f"products/{edited.source_id}", json={"name": "Edited"}).is_success
    webhooks.update_delivery_faults(rehearsal.source, user=None, reorder_rate=1.0)
    with committed(), rehearsal.woo() as woo:
        assert woo.put(f"products/{removed.source_id}", json={"name": "Doomed"}).is_success
    webhooks.update_delivery_faults(rehearsal.source, user=None, reorder_rate=0.0)
    with committed(), rehearsal.woo() as woo:
        deleted = woo.delete(f"products/{removed.source_id}", params={"force": "true"})
        assert deleted.is_success

    arrived = [(d.topic, d.object_id) for d, _ in outbox.sent if not d.ping]
    removed_id = int(removed.source_id)
    assert arrived.index(("product.deleted", removed_id)) < arrived.index(
        ("product.updated", removed_id)
    )
    assert len(arrived) == 6  # three changes, each delivered twice
    assert sorted(ChangeEvent.objects.values_list("source_id", "action")) == sorted(
        [
            (edited.source_id, "updated"),
            (removed.source_id, "updated"),
            (removed.source_id, "deleted"),
        ]
    )

    delta = run(project, RunKind.DELTA)

    assert delta.status == RunStatus.SUCCEEDED, delta.error
    assert delta.outcomes.get(source_id=removed.source_id).action == Action.DELETED
    assert target_skus(rehearsal) == source_skus(rehearsal)
    assert not rehearsal.target.records.filter(
        resource="product", object_id=int(removed.target_id)
    ).exists()
    assert not ChangeEvent.objects.filter(run__isnull=True).exists()


def test_a_bigcommerce_source_registers_hooks_with_the_secret_header(
    sandbox_http, outbox, committed, nested_requests
):
    user = UserFactory()
    source, credentials = create_sandbox_store(
        slug="bc-src", name="BC source", flavor=Flavor.BIGCOMMERCE
    )
    source_store = create_store(
        user=user,
        name="BC source",
        platform=Platform.SANDBOX_BIGCOMMERCE,
        base_url=sandbox_base_url(source, "http://localhost"),
        credentials=credentials,
    )
    target, target_credentials = create_sandbox_store(
        slug="wc-dst", name="WC target", flavor=Flavor.WOOCOMMERCE
    )
    target_store = create_store(
        user=user,
        name="WC target",
        platform=Platform.SANDBOX_WOOCOMMERCE,
        base_url=sandbox_base_url(target, "http://localhost"),
        credentials=target_credentials,
    )
    from apps.projects.services import create_project

    project = create_project(
        user=user,
        name="Back",
        source_store=source_store,
        target_store=target_store,
        entities=["categories", "products"],
    )
    client = APIClient()
    client.force_authenticate(user)
    with committed():
        response = client.post(f"/api/v1/projects/{project.pk}/webhooks/")
    assert response.status_code == 201, response.content
    endpoint = WebhookEndpoint.objects.get(project=project)
    base = f"{sandbox_base_url(source, 'http://localhost')}/stores/{credentials['store_hash']}/v3"
    import httpx

    with httpx.Client(
        transport=sandbox_http, headers={"X-Auth-Token": credentials["access_token"]}
    ) as big:
        hooks = big.get(f"{base}/hooks").json()["data"]
        assert len(hooks) == 6
        assert {hook["headers"][SECRET_HEADER] for hook in hooks} == {endpoint.secret()}
        with committed():
            created = big.post(
                f"{base}/catalog/products",
                json={"name": "Pushed", "type": "physical", "weight": 1, "price": 3},
            )
            assert created.status_code == 200, created.text

    event = ChangeEvent.objects.get(project=project)
    assert (event.entity, event.source_id, event.action) == (
        "products",
        str(created.json()["data"]["id"]),
        "created",
    )


def test_a_rehearsal_run_leaves_the_events_to_the_real_delta(
    rehearsal, outbox, committed, nested_requests
):
    assert run(rehearsal.project, RunKind.FULL).status == RunStatus.SUCCEEDED
    connect(rehearsal, committed)
    record_map = RecordMap.objects.filter(project=rehearsal.project).first()
    with committed(), rehearsal.woo() as woo:
        assert woo.put(f"products/{record_map.source_id}", json={"name": "Later"}).is_success

    dry = run_inline(
        start_run(rehearsal.project, kind=RunKind.DRY_RUN, options={"of": RunKind.DELTA}).pk
    )

    assert dry.status == RunStatus.SUCCEEDED, dry.error
    assert ChangeEvent.objects.get().run_id is None
