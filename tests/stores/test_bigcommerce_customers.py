"""BigCommerceConnector: customers with addresses, against the sandbox over real HTTP — batches
of 10, all-or-nothing refusals isolated per customer, and the 3-requests-in-flight cap."""

from __future__ import annotations

import threading
import time
from datetime import timedelta
from typing import Any

import httpx
import pytest
from django.utils import timezone

from apps.sandbox.bigcommerce import concurrency
from apps.sandbox.models import SandboxObject
from apps.stores.connectors.base import WriteItem
from apps.stores.connectors.bigcommerce import BigCommerceConnector
from apps.stores.connectors.canonical import content_hash
from tests.stores.test_bigcommerce_connector import BASE, Requests, make_sandbox


@pytest.fixture
def sandbox(db):
    return make_sandbox()


@pytest.fixture
def requests() -> Requests:
    return Requests()


@pytest.fixture
def connector(sandbox_http, sandbox, requests):
    _, credentials = sandbox
    conn = BigCommerceConnector(BASE, credentials, transport=sandbox_http, on_response=requests)
    yield conn
    conn.close()


def address(kind: str, **fields: Any) -> dict[str, Any]:
    return {
        "type": kind,
        "first_name": "Ann",
        "last_name": "Lee",
        "company": "",
        "line1": "1 Main St",
        "line2": "",
        "city": "Austin",
        "state": "Texas",
        "postcode": "78701",
        "country": "US",
        "phone": "",
        **fields,
    }


def customer(email: str = "ann@example.com", **fields: Any) -> dict[str, Any]:
    return {
        "email": email,
        "first_name": "Ann",
        "last_name": "Lee",
        "company": "Acme",
        "phone": "555-0100",
        "accepts_marketing": True,
        "addresses": [address("billing"), address("shipping", line1="9 Dock Rd", city="Waco")],
        **fields,
    }


def items(connector, *records: dict[str, Any]) -> list[WriteItem]:
    return [
        WriteItem(ref=r["email"], payload=connector.from_canonical("customers", r)) for r in records
    ]


def test_round_trip_with_addresses(connector):
    record = customer()

    [result] = connector.create("customers", items(connector, record))
    [raw] = connector.read_by_ids("customers", [result.target_id])

    assert result.ok
    assert connector.to_canonical("customers", raw) == record
    assert content_hash(connector.to_canonical("customers", result.record)) == content_hash(record)


def test_email_is_the_natural_key_without_case(connector):
    [result] = connector.create("customers", items(connector, customer("Ann@Example.com")))

    found = connector.find_by_natural_key("customers", "ann@example.com")

    assert found is not None and str(found["id"]) == result.target_id
    assert found["addresses"]  # found with its addresses, ready to compare
    assert connector.to_canonical("customers", found)["email"] == "ann@example.com"
    assert connector.find_by_natural_key("customers", "nobody@example.com") is None


def test_twelve_customers_take_two_requests(connector, requests):
    requests.seen.clear()

    results = connector.create(
        "customers", items(connector, *(customer(f"p{n}@x.io") for n in range(12)))
    )

    assert [r.ok for r in results] == [True] * 12
    assert requests.methods() == ["POST", "POST"]
    assert connector.max_write_batch["customers"] == 10
    assert connector.count("customers") == 12


def test_a_duplicate_email_fails_alone_and_is_flagged(connector, requests):
    connector.create("customers", items(connector, customer("taken@x.io")))
    requests.seen.clear()

    results = connector.create(
        "customers",
        items(connector, customer("a@x.io"), customer("TAKEN@x.io"), customer("b@x.io")),
    )

    assert [r.ok for r in results] == [True, False, True]
    refused = results[1]
    assert refused.status == 422
    assert "already in use" in refused.error
    assert refused.extra.get("duplicate") is True
    # The whole array was refused, then each customer was sent alone.
    assert requests.methods() == ["POST", "POST", "POST", "POST"]


def test_update_changes_fields_and_brings_addresses_in_line(connector):
    [created] = connector.create("customers", items(connector, customer()))
    changed = customer(
        last_name="Smith",
        addresses=[
            address("billing", city="Dallas"),
            address("shipping", line1="2 Side St"),
            address("shipping", line1="3 Far Rd"),
        ],
    )

    [result] = connector.update(
        "customers",
        [
            WriteItem(
                "a", connector.from_canonical("customers", changed), target_id=created.target_id
            )
        ],
    )

    assert result.ok, result.error
    assert connector.to_canonical("customers", result.record) == changed
    fewer = customer(addresses=[address("billing")])
    [again] = connector.update(
        "customers",
        [WriteItem("a", connector.from_canonical("customers", fewer), target_id=created.target_id)],
    )
    assert connector.to_canonical("customers", again.record) == fewer


def test_empty_addresses_are_not_sent(connector):
    payload = connector.from_canonical(
        "customers", customer(addresses=[address("billing", line1="", city="", postcode="")])
    )

    assert payload["addresses"] == []


def test_paging_and_delete(connector):
    created = connector.create(
        "customers", items(connector, *(customer(f"p{n}@x.io") for n in range(3)))
    )
    ids = [r.target_id for r in created]

    first = connector.read_page("customers", None, 2)
    second = connector.read_page("customers", first.next_cursor, 2)
    deleted = connector.delete("customers", ids[:2])

    assert [str(r["id"]) for r in first.records + second.records] == ids
    assert second.next_cursor is None and first.total == 3
    assert all("addresses" in r for r in first.records)
    assert [r.ok for r in deleted] == [True, True]
    assert connector.count("customers") == 1


def test_a_429_from_the_concurrency_cap_is_waited_through(sandbox_http, sandbox):
    """Three other requests are in flight: the 4th is refused (429, short reset); the client
    waits the reset, by then they have finished, and the write succeeds."""
    store, credentials = sandbox
    resource = concurrency.resource_for("customers")
    concurrency._ensure_slots(store, resource)
    busy = SandboxObject.objects.filter(store=store, resource=resource)
    busy.update(name="others", date_modified=timezone.now() + timedelta(seconds=30))
    waits: list[float] = []

    def fake_sleep(seconds: float) -> None:
        waits.append(seconds)
        busy.update(name="", date_modified=concurrency.FREE)  # the others finished

    connector = BigCommerceConnector(BASE, credentials, transport=sandbox_http, sleep=fake_sleep)

    [result] = connector.create("customers", items(connector, customer()))

    assert result.ok, result.error
    assert waits == [concurrency.RETRY_MS / 1000]
    assert connector.client.rate_limited == 1
    assert connector.find_by_natural_key("customers", "ann@example.com") is not None


class HoldingTransport(httpx.BaseTransport):
    """Holds every request until released, counting how many are inside at once."""

    def __init__(self) -> None:
        self.active = self.peak = 0
        self.lock = threading.Lock()
        self.release = threading.Event()

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        with self.lock:
            self.active += 1
            self.peak = max(self.peak, self.active)
        self.release.wait(timeout=5)
        with self.lock:
            self.active -= 1
        return httpx.Response(200, json={"data": [], "meta": {}})


def test_the_connector_keeps_at_most_three_of_its_own_customers_requests_in_flight():
    transport = HoldingTransport()
    connector = BigCommerceConnector(
        BASE, {"store_hash": "abc", "access_token": "t"}, transport=transport
    )
    threads = [
        threading.Thread(target=connector.find_by_natural_key, args=("customers", f"p{n}@x.io"))
        for n in range(5)
    ]
    for thread in threads:
        thread.start()
    deadline = time.monotonic() + 10  # generous: a loaded machine starts threads slowly
    while transport.active < 3 and time.monotonic() < deadline:
        time.sleep(0.002)
    time.sleep(0.05)  # room for a 4th to get in, if the connector let it
    peak = transport.peak
    transport.release.set()
    for thread in threads:
        thread.join(timeout=5)

    assert peak == 3
