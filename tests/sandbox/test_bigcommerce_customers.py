"""The BigCommerce sandbox's Customers API v3: arrays of at most 10, all-or-nothing writes,
addresses, filters, and the cap of 3 requests in flight per store."""

from __future__ import annotations

import threading
from datetime import timedelta
from typing import Any

import pytest
from django.db import connection
from django.test import Client
from django.utils import timezone

from apps.sandbox.bigcommerce import concurrency
from apps.sandbox.bigcommerce import customers as bc_customers
from apps.sandbox.models import Flavor, SandboxObject
from tests.sandbox.test_bigcommerce_api import RATE_HEADERS, Api, create_sandbox_store


@pytest.fixture
def sandbox(db):
    return create_sandbox_store(slug="bc-people", flavor=Flavor.BIGCOMMERCE)


@pytest.fixture
def api(client, sandbox) -> Api:
    store, credentials = sandbox
    return Api(client, store.slug, credentials["store_hash"], credentials["access_token"])


def person(email: str = "ann@example.com", **fields: Any) -> dict[str, Any]:
    return {"email": email, "first_name": "Ann", "last_name": "Lee", **fields}


def address(**fields: Any) -> dict[str, Any]:
    return {
        "first_name": "Ann",
        "last_name": "Lee",
        "address1": "1 Main St",
        "city": "Austin",
        "country_code": "US",
        "postal_code": "78701",
        "state_or_province": "Texas",
        **fields,
    }


def create(api: Api, *people: dict[str, Any]) -> list[dict[str, Any]]:
    response = api("POST", "customers", list(people))
    assert response.status_code == 200, response.content
    return response.json()["data"]


# --- create and read -----------------------------------------------------------------------


def test_create_with_inline_addresses_and_read_back(api):
    [ann] = create(
        api, person(phone="555", addresses=[address(), address(address_type="commercial")])
    )

    assert isinstance(ann["id"], int)
    assert ann["address_count"] == 2
    assert ann["date_created"].endswith("Z")
    assert [a["address_type"] for a in ann["addresses"]] == ["residential", "commercial"]
    assert ann["addresses"][0]["country"] == "United States"
    listed = api("GET", "customers", params={"include": "addresses"}).json()
    assert listed["data"][0]["addresses"][0]["address1"] == "1 Main St"
    assert listed["meta"]["pagination"]["total"] == 1
    plain = api("GET", "customers").json()["data"][0]
    assert "addresses" not in plain


def test_filters_email_in_id_in_and_date_modified(api):
    ann, bob, cat = create(
        api, person("ann@example.com"), person("Bob@Example.com"), person("c@x.io")
    )
    SandboxObject.objects.filter(resource="customer", object_id=ann["id"]).update(
        date_modified="2024-01-01T00:00:00+00:00"
    )

    def emails(**params: Any) -> list[str]:
        return [c["email"] for c in api("GET", "customers", params=params).json()["data"]]

    assert emails(**{"email:in": "bob@example.com,c@x.io"}) == ["Bob@Example.com", "c@x.io"]
    assert emails(**{"id:in": str(cat["id"])}) == ["c@x.io"]
    assert emails(**{"date_modified:min": "2024-06-01"}) == ["Bob@Example.com", "c@x.io"]
    assert emails(**{"date_modified:max": "2024-06-01"}) == ["ann@example.com"]
    assert bob["email"] == "Bob@Example.com"


def test_limit_is_capped_at_250(api):
    body = api("GET", "customers", params={"limit": 999}).json()

    assert body["meta"]["pagination"]["per_page"] == 250


# --- limits and refusals -------------------------------------------------------------------


def test_eleven_customers_in_one_request_are_refused_with_413(api):
    response = api("POST", "customers", [person(f"p{n}@x.io") for n in range(11)])

    assert response.status_code == 413
    assert "maximum number of items allowed in the array is 10" in response.json()["title"]
    assert not SandboxObject.objects.filter(resource="customer").exists()


def test_ten_customers_in_one_request_are_fine(api):
    assert len(create(api, *(person(f"p{n}@x.io") for n in range(10)))) == 10


def test_duplicate_email_refuses_the_whole_batch_with_422(api):
    create(api, person("ann@example.com"))

    response = api("POST", "customers", [person("new@example.com"), person("ANN@example.com")])

    assert response.status_code == 422
    body = response.json()
    assert body["title"] == "Create customers failed."
    assert "already in use" in body["errors"][".customer_create"]
    assert SandboxObject.objects.filter(resource="customer").count() == 1


def test_missing_required_fields_are_422_by_path(api):
    response = api(
        "POST",
        "customers",
        [{"email": "x@y.z"}, person("not-an-email"), person("a@b.c", addresses=[{"city": "X"}])],
    )

    assert response.status_code == 422
    errors = response.json()["errors"]
    assert {"0.first_name", "0.last_name", "1.email", "2.addresses.0.address1"} <= set(errors)


def test_put_updates_up_to_ten_and_ignores_addresses(api):
    [ann] = create(api, person(addresses=[address()]))

    response = api(
        "PUT",
        "customers",
        [{"id": ann["id"], "last_name": "Smith", "addresses": [address(city="Y")]}],
    )

    assert response.status_code == 200
    assert response.json()["data"][0]["last_name"] == "Smith"
    again = api("GET", "customers", params={"include": "addresses"}).json()["data"][0]
    assert again["addresses"][0]["city"] == "Austin"
    assert api("PUT", "customers", [{"id": n} for n in range(11)]).status_code == 413


def test_put_to_an_email_in_use_is_422(api):
    ann, bob = create(api, person("ann@x.io"), person("bob@x.io"))

    response = api("PUT", "customers", [{"id": bob["id"], "email": "ann@x.io"}])

    assert response.status_code == 422
    assert response.json()["title"] == "Update customers failed."
    assert ann["email"] == "ann@x.io"


def test_delete_by_id_in_and_without_filter_deletes_nothing(api):
    ann, bob = create(api, person("ann@x.io", addresses=[address()]), person("bob@x.io"))

    assert api("DELETE", "customers").status_code == 204
    assert SandboxObject.objects.filter(resource="customer").count() == 2
    assert api("DELETE", "customers", params={"id:in": ann["id"]}).status_code == 204

    assert [c["id"] for c in api("GET", "customers").json()["data"]] == [bob["id"]]
    assert not SandboxObject.objects.filter(resource="customer-address").exists()


# --- addresses -----------------------------------------------------------------------------


def test_address_endpoint_creates_updates_lists_and_deletes(api):
    [ann] = create(api, person())

    created = api("POST", "customers/addresses", [address(customer_id=ann["id"])])
    assert created.status_code == 200, created.content
    [made] = created.json()["data"]
    changed = api("PUT", "customers/addresses", [{"id": made["id"], "city": "Dallas"}]).json()
    listed = api("GET", "customers/addresses", params={"customer_id:in": ann["id"]}).json()

    assert changed["data"][0]["city"] == "Dallas"
    assert [a["id"] for a in listed["data"]] == [made["id"]]
    assert api("DELETE", "customers/addresses", params={"id:in": made["id"]}).status_code == 204
    assert api("GET", "customers/addresses").json()["data"] == []


def test_address_for_an_unknown_customer_is_422(api):
    response = api("POST", "customers/addresses", [address(customer_id=999)])

    assert response.status_code == 422
    assert "0.customer_id" in response.json()["errors"]


# --- at most 3 requests in flight ----------------------------------------------------------


def _hold_slots(sandbox_store, count: int, *, until=None) -> None:
    """Simulate `count` customers requests in flight (their slots held until `until`)."""
    concurrency._ensure_slots(sandbox_store, concurrency.resource_for("customers"))
    held_until = until or timezone.now() + timedelta(seconds=30)
    SandboxObject.objects.filter(
        store=sandbox_store, resource="inflight-customers", object_id__lt=count
    ).update(name="someone", date_modified=held_until)


def test_a_fourth_request_in_flight_is_429_with_a_short_reset(api, sandbox):
    store, _ = sandbox
    _hold_slots(store, 3)

    refused = api("GET", "customers")

    assert refused.status_code == 429
    assert refused.json()["status"] == 429
    for header in RATE_HEADERS:
        assert header in refused.headers
    assert refused.headers["X-Rate-Limit-Time-Reset-Ms"] == str(concurrency.RETRY_MS)
    assert int(refused.headers["X-Rate-Limit-Requests-Left"]) > 0


def test_a_third_request_in_flight_is_served(api, sandbox):
    store, _ = sandbox
    _hold_slots(store, 2)

    assert api("GET", "customers").status_code == 200
    assert concurrency.in_flight(store, "customers") == 2  # its own slot was given back


def test_other_apis_are_not_capped(api, sandbox):
    store, _ = sandbox
    _hold_slots(store, 3)

    assert api("GET", "catalog/products").status_code == 200


def test_a_slot_of_a_request_that_died_expires(api, sandbox):
    store, _ = sandbox
    _hold_slots(store, 3, until=timezone.now() - timedelta(seconds=1))

    assert api("GET", "customers").status_code == 200


def test_a_failing_request_gives_its_slot_back(api, sandbox, monkeypatch):
    store, _ = sandbox

    def boom(*args, **kwargs):
        raise RuntimeError("handler crashed")

    monkeypatch.setattr(bc_customers, "list_customers", boom)
    client_errors = Client(raise_request_exception=False)
    response = client_errors.get(api.prefix + "customers", headers={"X-Auth-Token": api.token})

    assert response.status_code == 500
    assert concurrency.in_flight(store, "customers") == 0


@pytest.mark.django_db(transaction=True)
def test_four_concurrent_requests_one_is_refused(monkeypatch):
    """Four threads, each with its own connection, are inside the customers API at once: the
    handler blocks until all four have either entered it or been refused."""
    store, credentials = create_sandbox_store(slug="bc-busy", flavor=Flavor.BIGCOMMERCE)
    entered = threading.Semaphore(0)
    release = threading.Event()
    real = bc_customers.list_customers

    def slow(*args, **kwargs):
        entered.release()
        release.wait(timeout=10)
        return real(*args, **kwargs)

    monkeypatch.setattr(bc_customers, "list_customers", slow)
    statuses: list[int] = []
    lock = threading.Lock()

    def worker() -> None:
        try:
            response = Client().get(
                f"/sandbox/{store.slug}/stores/{credentials['store_hash']}/v3/customers",
                headers={"X-Auth-Token": credentials["access_token"]},
            )
            with lock:
                statuses.append(response.status_code)
        finally:
            connection.close()

    threads = [threading.Thread(target=worker) for _ in range(4)]
    for thread in threads:
        thread.start()
    for _ in range(3):
        assert entered.acquire(timeout=10)
    # Three are inside the handler; the fourth is refused without entering it.
    for _ in range(200):
        with lock:
            if statuses:
                break
        threading.Event().wait(0.01)
    release.set()
    for thread in threads:
        thread.join(timeout=10)

    assert sorted(statuses) == [200, 200, 200, 429]
    assert concurrency.in_flight(store, "customers") == 0
