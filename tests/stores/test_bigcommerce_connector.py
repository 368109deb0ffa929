"""BigCommerceConnector against the BigCommerce sandbox, over real HTTP (in-process WSGI)."""

from __future__ import annotations

import copy
from typing import Any

import httpx
import pytest

from apps.sandbox.bigcommerce import ratelimit
from apps.sandbox.models import Flavor, SandboxStore, hash_secret
from apps.sandbox.services import new_credentials
from apps.stores.connectors.base import ConnectorError, RecordInvalid, WriteItem
from apps.stores.connectors.bigcommerce import BigCommerceConnector
from apps.stores.connectors.bigcommerce import common as bc_common
from apps.stores.connectors.canonical import content_hash, validate
from apps.stores.models import Platform
from apps.stores.services import build_connector
from tests.factories import StoreFactory

BASE = "http://testserver/sandbox/bc-target"


def make_sandbox(**quota: int) -> tuple[SandboxStore, dict[str, str]]:
    # Not services.create_sandbox_store: `SandboxStore.objects` is shadowed by
    # SandboxObject.store's related_name="objects" (reported to the lead).
    key_id, secret, credentials = new_credentials(Flavor.BIGCOMMERCE)
    store = SandboxStore(
        slug="bc-target",
        name="BC target",
        flavor=Flavor.BIGCOMMERCE,
        key_id=key_id,
        secret_hash=hash_secret(secret),
        **quota,
    )
    store.save()
    return store, credentials


class Requests:
    """Records every response the connector sees (via the HttpClient's on_response hook)."""

    def __init__(self) -> None:
        self.seen: list[httpx.Response] = []

    def __call__(self, response: httpx.Response) -> None:
        self.seen.append(response)

    def methods(self) -> list[str]:
        return [r.request.method for r in self.seen]


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


def canonical(sku: str = "TEE", name: str = "Tee", **fields: Any) -> dict[str, Any]:
    record = {
        "sku": sku,
        "name": name,
        "slug": sku.lower(),
        "description": "<p>Soft</p>",
        "status": "active",
        "price": "20.00",
        "sale_price": "15.50",
        "stock": None,
        "weight": "0.25",
        "categories": [],
        "brand": None,
        "images": [
            {"url": f"https://img.example/{sku}-front.jpg", "alt": "Front", "position": 0},
            {"url": f"https://img.example/{sku}-back.jpg", "alt": "", "position": 1},
        ],
        "custom_fields": [{"name": "Care", "value": "Cold wash"}],
        "options": [
            {"name": "Size", "values": ["S", "M"]},
            {"name": "Colour", "values": ["Red", "Blue"]},
        ],
        "variants": [
            {
                "sku": f"{sku}-{size}-{colour}",
                "price": "21.00" if size == "M" else None,
                "sale_price": None,
                "stock": stock,
                "options": {"Size": size, "Colour": colour},
            }
            for size, colour, stock in (
                ("S", "Red", 3),
                ("M", "Red", 0),
                ("S", "Blue", 7),
                ("M", "Blue", 1),
            )
        ],
    }
    record.update(fields)
    return record


def simple(sku: str, name: str | None = None, **fields: Any) -> dict[str, Any]:
    return canonical(
        sku, name or f"Product {sku}", **{"options": [], "variants": [], "stock": 4, **fields}
    )


def create(connector: BigCommerceConnector, *records: dict[str, Any]) -> list[str]:
    items = [
        WriteItem(ref=r["sku"], payload=connector.from_canonical("products", r)) for r in records
    ]
    results = connector.create("products", items)
    assert all(r.ok for r in results), [r.error for r in results]
    return [r.target_id for r in results]


# --- create and read -----------------------------------------------------------------------


def test_create_with_variants_and_read_back_the_same_canonical_record(connector):
    record = canonical()
    assert validate("products", record) == []

    [target_id] = create(connector, record)
    [raw] = connector.read_by_ids("products", [target_id])

    assert raw["id"] == int(target_id)
    assert len(raw["variants"]) == 4
    back = connector.to_canonical("products", raw)
    assert back == record
    assert content_hash(back) == content_hash(record)


def test_create_result_carries_the_record_with_its_variant_ids(connector):
    items = [WriteItem(ref="src-1", payload=connector.from_canonical("products", canonical()))]

    [result] = connector.create("products", items)

    assert result.ok and result.ref == "src-1"
    assert result.record["id"] == int(result.target_id)
    assert all(isinstance(v["id"], int) for v in result.record["variants"])


def test_read_pages_follow_the_cursor_to_the_end(connector):
    ids = create(connector, *(simple(f"P{n}") for n in range(5)))

    seen, cursor, pages = [], None, 0
    while True:
        page = connector.read_page("products", cursor, 2)
        pages += 1
        assert page.total == 5
        seen += [str(r["id"]) for r in page.records]
        assert all("variants" in r for r in page.records)
        if page.next_cursor is None:
            break
        cursor = page.next_cursor
    assert pages == 3
    assert seen == ids


def test_page_size_is_capped_at_250(connector, requests):
    connector.read_page("products", None, 1000)

    assert requests.seen[-1].request.url.params["limit"] == "250"


def test_count(connector):
    create(connector, *(simple(f"P{n}") for n in range(3)))

    assert connector.count("products") == 3


def test_read_by_ids_in_chunks(connector, requests, monkeypatch):
    ids = create(connector, *(simple(f"P{n}") for n in range(5)))
    monkeypatch.setattr(bc_common, "IDS_PER_QUERY", 2)
    requests.seen.clear()

    records = connector.read_by_ids("products", [ids[0], ids[2], ids[4]])

    assert sorted(str(r["id"]) for r in records) == sorted([ids[0], ids[2], ids[4]])
    assert requests.methods() == ["GET", "GET"]


def test_find_by_natural_key_hit_and_miss(connector):
    [target_id] = create(connector, canonical("TEE"))

    hit = connector.find_by_natural_key("products", "TEE")

    assert hit is not None and str(hit["id"]) == target_id
    assert len(hit["variants"]) == 4
    assert connector.find_by_natural_key("products", "NOPE") is None
    # A variant's SKU is not a product's natural key.
    assert connector.find_by_natural_key("products", "TEE-S-Red") is None


# --- writes --------------------------------------------------------------------------------


def test_a_409_on_create_fails_that_record_alone(connector):
    create(connector, simple("A", "Same name"))
    items = [
        WriteItem(ref=r["sku"], payload=connector.from_canonical("products", r))
        for r in (simple("B"), simple("C", "Same name"), simple("D"))
    ]

    results = connector.create("products", items)

    assert [r.ok for r in results] == [True, False, True]
    failed = results[1]
    assert failed.ref == "C"
    assert failed.status == 409
    assert "The product name is a duplicate" in failed.error
    assert not failed.retryable
    assert connector.find_by_natural_key("products", "D") is not None


def test_a_422_on_create_names_the_field(connector):
    payload = connector.from_canonical("products", simple("A"))
    payload["price"] = -1

    [result] = connector.create("products", [WriteItem(ref="A", payload=payload)])

    assert not result.ok
    assert result.status == 422
    assert "JSON data is missing or invalid" in result.error
    assert "price" in result.error


def test_update_of_twelve_takes_two_batch_puts(connector, requests):
    records = [simple(f"P{n}") for n in range(12)]
    ids = create(connector, *records)
    requests.seen.clear()
    items = [
        WriteItem(
            ref=r["sku"],
            payload=connector.from_canonical("products", {**r, "price": "9.99"}),
            target_id=i,
        )
        for r, i in zip(records, ids, strict=True)
    ]

    results = connector.update("products", items)

    assert connector.max_write_batch["products"] == 10
    assert [r.ok for r in results] == [True] * 12
    assert [r.target_id for r in results] == ids
    # One read of the targets' images and custom fields (to match them by id), then 10 + 2.
    assert requests.methods() == ["GET", "PUT", "PUT"]
    assert all(len(r.request.read()) > 0 for r in requests.seen[1:])
    prices = {r["price"] for r in connector.read_by_ids("products", ids)}
    assert prices == {9.99}


def test_a_bad_record_in_a_batch_update_fails_alone(connector, requests):
    records = [simple(f"P{n}") for n in range(3)]
    ids = create(connector, *records)
    requests.seen.clear()
    changed = [{**records[0], "price": "1.00"}, {**records[1], "name": "Product P0"}, records[2]]
    items = [
        WriteItem(ref=r["sku"], payload=connector.from_canonical("products", r), target_id=i)
        for r, i in zip(changed, ids, strict=True)
    ]

    results = connector.update("products", items)

    assert [r.ok for r in results] == [True, False, True]
    assert results[1].status == 409
    assert "duplicate" in results[1].error
    # The targets' sub-records, one refused batch, then each record alone.
    assert requests.methods() == ["GET", "PUT", "PUT", "PUT", "PUT"]
    assert connector.read_by_ids("products", [ids[0]])[0]["price"] == 1.0


def test_update_of_a_product_with_variants_keeps_variant_ids_and_round_trips(connector):
    record = canonical()
    [target_id] = create(connector, record)
    [before] = connector.read_by_ids("products", [target_id])
    changed = copy.deepcopy(record)
    changed["variants"][0]["stock"] = 42
    changed["variants"][1]["price"] = "30.00"
    changed["description"] = "<p>Softer</p>"
    payload = connector.from_canonical("products", changed)
    assert all("id" not in v for v in payload["variants"])

    [result] = connector.update("products", [WriteItem("TEE", payload, target_id=target_id)])

    assert result.ok, result.error
    [after] = connector.read_by_ids("products", [target_id])
    assert [v["id"] for v in after["variants"]] == [v["id"] for v in before["variants"]]
    assert content_hash(connector.to_canonical("products", after)) == content_hash(changed)


def test_delete(connector):
    ids = create(connector, simple("A"), simple("B"), simple("C"))

    results = connector.delete("products", ids[:2])

    assert [r.ok for r in results] == [True, True]
    assert [str(r["id"]) for r in connector.read_by_ids("products", ids)] == [ids[2]]


def test_other_entities_are_refused_clearly(connector):
    with pytest.raises(ConnectorError, match="does not handle 'coupons'"):
        connector.count("coupons")


# --- rate limits ---------------------------------------------------------------------------


def test_a_429_is_a_wait_of_the_reset_time_then_success(sandbox_http, db, monkeypatch):
    _, credentials = make_sandbox(quota_requests=2, quota_window_ms=1500)
    clock = {"ms": 5_000_000}
    monkeypatch.setattr(ratelimit, "now_ms", lambda: clock["ms"])
    waits: list[float] = []

    def fake_sleep(seconds: float) -> None:
        waits.append(seconds)
        clock["ms"] += round(seconds * 1000)

    connector = BigCommerceConnector(BASE, credentials, transport=sandbox_http, sleep=fake_sleep)
    items = [
        WriteItem(ref=r["sku"], payload=connector.from_canonical("products", r))
        for r in (simple("A"), simple("B"), simple("C"))
    ]

    results = connector.create("products", items)

    assert [r.ok for r in results] == [True, True, True]
    assert waits == [1.5]  # X-Rate-Limit-Time-Reset-Ms of the refused request
    assert connector.client.rate_limited == 1
    assert connector.last_rate_limit["quota"] == 2
    assert connector.last_rate_limit["left"] == 1
    assert connector.last_rate_limit["window_ms"] == 1500


def test_rate_limit_headers_are_recorded_from_every_response(connector):
    assert connector.last_rate_limit == {}

    connector.count("products")

    seen = connector.last_rate_limit
    assert set(seen) >= {"quota", "left", "window_ms", "reset_ms", "status", "seen_at"}
    assert seen["quota"] == ratelimit.UNLIMITED_QUOTA
    assert seen["status"] == 200


# --- mapping -------------------------------------------------------------------------------


def raw_product(**fields: Any) -> dict[str, Any]:
    return {
        "id": 7,
        "name": "Mug",
        "type": "physical",
        "sku": "MUG",
        "description": "",
        "weight": 2,
        "price": 12.5,
        "sale_price": 0,
        "inventory_level": 5,
        "inventory_tracking": "product",
        "is_visible": True,
        "variants": [{"id": 8, "sku": "MUG", "option_values": [], "inventory_level": 5}],
        **fields,
    }


def test_to_canonical_of_a_simple_product(connector):
    record = connector.to_canonical("products", raw_product())

    assert record == {
        "sku": "MUG",
        "name": "Mug",
        "slug": "",
        "description": "",
        "status": "active",
        "price": "12.50",
        "sale_price": None,
        "stock": 5,
        "weight": "2",
        "categories": [],
        "brand": None,
        "images": [],
        "custom_fields": [],
        "options": [],
        "variants": [],
    }


def test_to_canonical_stock_and_status_follow_tracking_and_visibility(connector):
    record = connector.to_canonical(
        "products", raw_product(inventory_tracking="none", is_visible=False, sale_price=9)
    )

    assert record["stock"] is None
    assert record["status"] == "draft"
    assert record["sale_price"] == "9.00"


@pytest.mark.parametrize(
    ("fields", "reason"),
    [
        ({"name": ""}, "no name"),
        ({"price": "abc"}, "not a number"),
        ({"price": None}, "no price"),
        ({"inventory_level": "many"}, "inventory_level"),
        ({"variants": "none"}, "not a list"),
    ],
)
def test_to_canonical_refuses_malformed_records(connector, fields, reason):
    with pytest.raises(RecordInvalid, match=reason):
        connector.to_canonical("products", raw_product(**fields))


def test_from_canonical_payload_shape(connector):
    payload = connector.from_canonical("products", canonical(weight=None))

    assert payload["type"] == "physical"
    assert payload["weight"] == 0
    assert payload["price"] == 20.0
    assert payload["sale_price"] == 15.5
    assert payload["inventory_tracking"] == "variant"
    assert payload["is_visible"] is True
    assert payload["variants"][0] == {
        "sku": "TEE-S-Red",
        "price": None,
        "sale_price": None,
        "inventory_level": 3,
        "option_values": [
            {"option_display_name": "Size", "label": "S"},
            {"option_display_name": "Colour", "label": "Red"},
        ],
    }


def test_from_canonical_tracking(connector):
    tracked = connector.from_canonical("products", simple("A"))
    untracked = connector.from_canonical("products", simple("B", stock=None))

    assert tracked["inventory_tracking"] == "product"
    assert tracked["inventory_level"] == 4
    assert untracked["inventory_tracking"] == "none"
    assert "inventory_level" not in untracked


def test_from_canonical_refuses_a_bad_weight(connector):
    with pytest.raises(RecordInvalid, match="weight"):
        connector.from_canonical("products", simple("A", weight="heavy"))


def test_round_trip_through_the_platform_keeps_the_content_hash(connector):
    records = [simple("A", weight=None, sale_price=None), canonical("B", status="draft")]
    ids = create(connector, *records)

    raws = {str(r["id"]): r for r in connector.read_by_ids("products", ids)}
    first = connector.to_canonical("products", raws[ids[0]])
    second = connector.to_canonical("products", raws[ids[1]])

    assert first == {**records[0], "weight": "0"}  # a weightless product ships as weight 0
    assert content_hash(second) == content_hash(records[1])
    again = connector.to_canonical(
        "products", {**raws[ids[0]], **connector.from_canonical("products", first)}
    )
    assert content_hash(again) == content_hash(first)


# --- credentials and wiring ----------------------------------------------------------------


def test_the_token_never_appears_in_errors_or_repr(sandbox_http, sandbox):
    _, credentials = sandbox
    wrong = {**credentials, "access_token": "wrong-token-abcdef"}
    connector = BigCommerceConnector(BASE, wrong, transport=sandbox_http)

    with pytest.raises(ConnectorError) as caught:
        connector.count("products")

    assert caught.value.status == 401
    assert "wrong-token-abcdef" not in str(caught.value)
    assert "wrong-token-abcdef" not in repr(connector)


def test_a_401_on_create_stops_the_batch_instead_of_failing_records(sandbox_http, sandbox):
    _, credentials = sandbox
    connector = BigCommerceConnector(
        BASE, {**credentials, "access_token": "nope-nope"}, transport=sandbox_http
    )
    payload = connector.from_canonical("products", simple("A"))

    with pytest.raises(ConnectorError) as caught:
        connector.create("products", [WriteItem(ref="A", payload=payload)])

    assert caught.value.status == 401


def test_missing_credentials_are_refused_without_echoing_them():
    with pytest.raises(ConnectorError, match="store_hash and an access_token") as caught:
        BigCommerceConnector(BASE, {"store_hash": "", "access_token": "secret-xyz-123"})

    assert "secret-xyz-123" not in str(caught.value)


def test_build_connector_reaches_the_sandbox(sandbox_http, sandbox):
    _, credentials = sandbox
    store = StoreFactory(
        platform=Platform.SANDBOX_BIGCOMMERCE, base_url=BASE, credentials=credentials
    )

    connector = build_connector(store)

    assert isinstance(connector, BigCommerceConnector)
    assert connector.count("products") == 0
