"""WooCommerceConnector against the real sandbox views, over HTTP (in-process transport)."""

from __future__ import annotations

import json
from decimal import Decimal

import httpx
import pytest

from apps.sandbox.demo_catalog import seed_woocommerce
from apps.sandbox.models import Flavor, SandboxObject, SandboxStore
from apps.sandbox.services import create_sandbox_store
from apps.stores.connectors.base import ConnectorError, RecordInvalid, WriteItem
from apps.stores.connectors.canonical import content_hash, validate
from apps.stores.connectors.woocommerce import WooCommerceConnector


class Recording(httpx.BaseTransport):
    """The sandbox transport, remembering every request sent through it."""

    def __init__(self, inner: httpx.BaseTransport) -> None:
        self.inner = inner
        self.requests: list[httpx.Request] = []

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        request.read()
        self.requests.append(request)
        return self.inner.handle_request(request)


@pytest.fixture
def transport(sandbox_http) -> Recording:
    return Recording(sandbox_http)


def connect(slug: str, transport: httpx.BaseTransport) -> tuple[SandboxStore, WooCommerceConnector]:
    sandbox, credentials = create_sandbox_store(slug=slug, name=slug, flavor=Flavor.WOOCOMMERCE)
    connector = WooCommerceConnector(
        f"http://testserver/sandbox/{slug}", credentials, transport=transport, max_attempts=1
    )
    return sandbox, connector


def read_all(connector: WooCommerceConnector, page_size: int) -> list[dict]:
    records, cursor, pages = [], None, 0
    while True:
        page = connector.read_page("products", cursor, page_size)
        records.extend(page.records)
        pages += 1
        if page.next_cursor is None:
            return records
        assert page.next_cursor == {"page": pages + 1}
        cursor = page.next_cursor


def canonical_by_sku(connector: WooCommerceConnector, records: list[dict]) -> dict[str, dict]:
    canonical = [connector.to_canonical("products", raw) for raw in records]
    return {c["sku"]: c for c in canonical}


def test_round_trip_from_one_shop_to_another_keeps_content(transport):
    source_sandbox, source = connect("source", transport)
    _, target = connect("target", transport)
    seed_woocommerce(source_sandbox, 30)

    assert source.count("products") == 30
    raw = read_all(source, page_size=7)
    assert len(raw) == 30 and len({r["id"] for r in raw}) == 30
    variable = [r for r in raw if r["type"] == "variable"]
    assert variable, "the demo catalog has variable products"
    for record in raw:
        assert [v["id"] for v in record["variations_data"]] == sorted(record["variations"])

    source_canonical = canonical_by_sku(source, raw)
    assert all(validate("products", c) == [] for c in source_canonical.values())
    assert any(c["variants"] and c["options"] for c in source_canonical.values())

    items = [
        WriteItem(ref=str(r["id"]), payload=target.from_canonical("products", c))
        for r, c in zip(raw, source_canonical.values(), strict=True)
    ]
    results = target.create("products", items)
    assert [r.ref for r in results] == [i.ref for i in items]
    assert all(r.ok for r in results), [r.error for r in results if not r.ok]
    # What create answered is what the target now holds.
    for result in results:
        written = target.to_canonical("products", result.record)
        assert content_hash(written) == content_hash(source_canonical[written["sku"]])

    copied = canonical_by_sku(target, read_all(target, page_size=100))
    assert copied.keys() == source_canonical.keys()
    for sku, canonical in source_canonical.items():
        assert content_hash(copied[sku]) == content_hash(canonical), sku


def test_read_page_stops_exactly_at_the_last_page(transport):
    sandbox, connector = connect("pages", transport)
    seed_woocommerce(sandbox, 14)
    first = connector.read_page("products", None, 7)
    assert (len(first.records), first.total, first.next_cursor) == (7, 14, {"page": 2})
    second = connector.read_page("products", first.next_cursor, 7)
    assert len(second.records) == 7 and second.next_cursor is None
    ids = [r["id"] for r in first.records + second.records]
    assert ids == sorted(ids) and len(set(ids)) == 14
    empty = connector.read_page("products", {"page": 3}, 7)
    assert empty.records == [] and empty.next_cursor is None


def test_more_than_100_variations_are_read_through_their_pages(transport):
    _, connector = connect("wide", transport)
    options = [f"V{i:03d}" for i in range(105)]
    canonical = {
        "sku": "WIDE",
        "name": "Wide",
        "status": "active",
        "price": "1.00",
        "options": [{"name": "Code", "values": options}],
        "variants": [
            {"sku": f"WIDE-{o}", "price": "1.00", "stock": None, "options": {"Code": o}}
            for o in options
        ],
    }
    created = connector.create(
        "products", [WriteItem("w", connector.from_canonical("products", canonical))]
    )[0]
    assert created.ok, created.error
    assert len(created.record["variations_data"]) == 105
    [raw] = connector.read_page("products", None, 10).records
    assert [v["sku"] for v in raw["variations_data"]] == [f"WIDE-{o}" for o in options]


def test_writes_are_split_into_batches_of_100(transport):
    _, connector = connect("bulk", transport)
    items = [
        WriteItem(ref=f"s{i}", payload={"name": f"P{i}", "sku": f"P{i}", "regular_price": "1.00"})
        for i in range(130)
    ]
    results = connector.create("products", items)
    assert all(r.ok for r in results) and len(results) == 130
    batches = [r for r in transport.requests if r.url.path.endswith("/products/batch")]
    assert [len(json.loads(r.content)["create"]) for r in batches] == [100, 30]
    assert connector.count("products") == 130
    assert all(r.headers["Authorization"].startswith("Basic ") for r in transport.requests)


def test_item_errors_map_to_failed_results_while_others_succeed(transport):
    _, connector = connect("errors", transport)
    held = connector.create(
        "products", [WriteItem("a", {"name": "A", "sku": "SAME", "regular_price": "1"})]
    )[0]
    results = connector.create(
        "products",
        [
            WriteItem("b", {"name": "B", "sku": "OTHER", "regular_price": "1"}),
            WriteItem("c", {"name": "C", "sku": "SAME", "regular_price": "1"}),
        ],
    )
    assert results[0].ok and results[0].ref == "b"
    failed = results[1]
    assert (failed.ok, failed.ref, failed.status, failed.retryable) == (False, "c", 400, False)
    assert failed.error == "Invalid or duplicated SKU."
    assert failed.extra == {"code": "product_invalid_sku", "resource_id": held.target_id}


def test_a_variation_that_cannot_be_written_fails_its_product_with_the_id(transport):
    _, connector = connect("partial", transport)
    connector.create("products", [WriteItem("x", {"name": "X", "sku": "TAKEN"})])
    payload = connector.from_canonical(
        "products",
        {
            "sku": "SHIRT",
            "name": "Shirt",
            "description": "",
            "status": "active",
            "price": "10.00",
            "sale_price": None,
            "stock": None,
            "weight": None,
            "options": [{"name": "Size", "values": ["S", "M"]}],
            "variants": [
                {
                    "sku": "SHIRT-S",
                    "price": "10.00",
                    "sale_price": None,
                    "stock": 3,
                    "options": {"Size": "S"},
                },
                {
                    "sku": "TAKEN",
                    "price": "11.00",
                    "sale_price": None,
                    "stock": 3,
                    "options": {"Size": "M"},
                },
            ],
        },
    )
    result = connector.create("products", [WriteItem("shirt", payload)])[0]
    assert not result.ok
    assert result.target_id is not None and result.extra["partial"] is True
    assert "TAKEN" in result.error and "Invalid or duplicated SKU." in result.error
    assert [v["sku"] for v in result.record["variations_data"]] == ["SHIRT-S"]


def test_update_syncs_variations_by_sku(transport):
    source_sandbox, connector = connect("updates", transport)
    seed_woocommerce(source_sandbox, 40)
    raw = next(r for r in read_all(connector, 100) if len(r["variations_data"]) >= 3)
    canonical = connector.to_canonical("products", raw)
    kept, dropped = canonical["variants"][0], canonical["variants"][1]
    kept_id = raw["variations_data"][0]["id"]
    canonical["name"] += " (2025)"
    kept["price"] = "99.00"
    kept["stock"] = 5
    canonical["variants"].remove(dropped)
    canonical["variants"].append({**dropped, "sku": dropped["sku"] + "-NEW"})
    result = connector.update(
        "products",
        [WriteItem("r", connector.from_canonical("products", canonical), target_id=str(raw["id"]))],
    )[0]
    assert result.ok, result.error
    [again] = connector.read_by_ids("products", [str(raw["id"])])
    # A variable product has no price of its own on WooCommerce: it reads as its cheapest variant.
    canonical["price"] = min((v["price"] for v in canonical["variants"]), key=Decimal)
    assert content_hash(connector.to_canonical("products", again)) == content_hash(canonical)
    assert again["variations_data"][0]["id"] == kept_id  # updated in place, not recreated
    assert dropped["sku"] not in {v["sku"] for v in again["variations_data"]}
    assert not SandboxObject.objects.filter(sku=dropped["sku"]).exists()


def test_read_by_ids_and_find_by_natural_key(transport):
    sandbox, connector = connect("lookups", transport)
    seed_woocommerce(sandbox, 12)
    raw = read_all(connector, 100)
    variable = next(r for r in raw if r["type"] == "variable")
    simple = next(r for r in raw if r["type"] == "simple")
    found = connector.read_by_ids("products", [str(variable["id"]), "999999", str(simple["id"])])
    assert [r["id"] for r in found] == [variable["id"], simple["id"]]
    assert found[0]["variations_data"] == variable["variations_data"]

    hit = connector.find_by_natural_key("products", variable["sku"])
    assert hit is not None and hit["id"] == variable["id"]
    assert len(hit["variations_data"]) == len(variable["variations"])
    assert connector.find_by_natural_key("products", "NO-SUCH-SKU") is None
    # A variation's SKU is not a product's natural key.
    assert connector.find_by_natural_key("products", variable["variations_data"][0]["sku"]) is None


def test_delete_is_idempotent(transport):
    _, connector = connect("deletes", transport)
    created = connector.create("products", [WriteItem("a", {"name": "A", "sku": "A"})])[0]
    first = connector.delete("products", [created.target_id, "nope"])
    assert first[0].ok and first[0].target_id == created.target_id
    assert not first[1].ok and "not a WooCommerce product id" in first[1].error
    again = connector.delete("products", [created.target_id])[0]
    assert again.ok and again.extra == {"already_absent": True}
    assert connector.count("products") == 0


def test_wrong_credentials_fail_loudly_without_revealing_the_secret(transport):
    connect("secret", transport)
    intruder = WooCommerceConnector(
        "http://testserver/sandbox/secret",
        {"consumer_key": "ck_x", "consumer_secret": "cs_do_not_print"},
        transport=transport,
    )
    with pytest.raises(ConnectorError) as caught:
        intruder.count("products")
    assert caught.value.status == 401
    assert "Consumer key is invalid." in str(caught.value)
    assert "cs_do_not_print" not in str(caught.value)
    with pytest.raises(ConnectorError, match="needs consumer_key and consumer_secret"):
        WooCommerceConnector("http://x", {"consumer_key": "ck"})


def test_other_entities_are_refused_clearly(transport):
    _, connector = connect("entities", transport)
    with pytest.raises(ConnectorError, match="does not handle 'coupons'"):
        connector.read_page("coupons", None, 10)


# --- mapping without HTTP ----------------------------------------------------------------------


@pytest.fixture
def mapper() -> WooCommerceConnector:
    return WooCommerceConnector(
        "http://shop.invalid", {"consumer_key": "k", "consumer_secret": "s"}
    )


def raw_product(**overrides) -> dict:
    return {
        "id": 42,
        "name": "Mug",
        "sku": "MUG",
        "type": "simple",
        "status": "draft",
        "description": "<p>Stoneware</p>",
        "regular_price": "12.5",
        "sale_price": "",
        "manage_stock": True,
        "stock_quantity": 4,
        "weight": "0.4",
        "attributes": [{"name": "Glaze", "variation": False, "options": ["Matte"]}],
        "variations_data": [],
        **overrides,
    }


def test_to_canonical_maps_a_simple_product(mapper):
    assert mapper.to_canonical("products", raw_product()) == {
        "sku": "MUG",
        "name": "Mug",
        "slug": "",
        "description": "<p>Stoneware</p>",
        "status": "draft",
        "price": "12.50",
        "sale_price": None,
        "stock": 4,
        "weight": "0.4",
        "categories": [],
        "brand": None,
        "images": [],
        "custom_fields": [{"name": "Glaze", "value": "Matte"}],
        "options": [],
        "variants": [],
    }


def test_to_canonical_maps_terms_images_and_descriptive_attributes(mapper):
    canonical = mapper.to_canonical(
        "products",
        raw_product(
            slug="mug",
            categories=[{"id": 20, "name": "A"}, {"id": 3, "name": "B"}],
            brands=[{"id": 7, "name": "Kestrel"}],
            images=[
                {"id": 1, "src": "https://img/1.jpg", "alt": "front"},
                {"id": 2, "src": "https://img/2.jpg", "alt": ""},
            ],
            attributes=[
                {"name": "Glaze", "variation": False, "options": ["Matte", "Gloss"]},
                {"name": "Size", "variation": True, "options": ["S"]},
            ],
        ),
    )
    assert canonical["slug"] == "mug"
    assert canonical["categories"] == ["20", "3"]  # sorted as strings, as the engine sorts refs
    assert canonical["brand"] == "7"
    assert canonical["images"] == [
        {"url": "https://img/1.jpg", "alt": "front", "position": 0},
        {"url": "https://img/2.jpg", "alt": "", "position": 1},
    ]
    assert canonical["custom_fields"] == [
        {"name": "Glaze", "value": "Gloss"},
        {"name": "Glaze", "value": "Matte"},
    ]
    payload = mapper.from_canonical("products", canonical)
    assert payload["categories"] == [{"id": 20}, {"id": 3}]
    assert payload["brands"] == [{"id": 7}]
    assert payload["images"] == [
        {"src": "https://img/1.jpg", "alt": "front"},
        {"src": "https://img/2.jpg", "alt": ""},
    ]
    assert payload["attributes"][-1] == {
        "name": "Glaze",
        "position": 1,
        "visible": True,
        "variation": False,
        "options": ["Gloss", "Matte"],
    }


@pytest.mark.parametrize(
    ("overrides", "reason"),
    [
        ({"regular_price": "abc"}, "product 42 (SKU MUG): regular_price 'abc' is not a number"),
        ({"sale_price": "1,50"}, "sale_price '1,50' is not a number"),
        ({"stock_quantity": "lots"}, "stock_quantity 'lots' is not a whole number"),
        ({"weight": "heavy"}, "weight 'heavy' is not a number"),
        ({"name": ["Mug"]}, "name is a list, not text"),
        ({"variations_data": [{"id": 7, "regular_price": "x1"}]}, "variation 7: regular_price"),
    ],
)
def test_to_canonical_rejects_malformed_records_with_a_reason(mapper, overrides, reason):
    with pytest.raises(RecordInvalid, match=reason.replace("(", r"\(").replace(")", r"\)")):
        mapper.to_canonical("products", raw_product(**overrides))


def test_to_canonical_leaves_business_rules_to_validate(mapper):
    canonical = mapper.to_canonical("products", raw_product(sku="", regular_price="-3"))
    assert canonical["sku"] == "" and canonical["price"] == "-3.00"
    assert validate("products", canonical)  # refused later, by the engine, with its reasons


def test_from_canonical_builds_simple_and_variable_payloads(mapper):
    simple = mapper.from_canonical("products", mapper.to_canonical("products", raw_product()))
    assert simple["type"] == "simple"
    assert (simple["regular_price"], simple["sale_price"]) == ("12.50", "")
    assert (simple["manage_stock"], simple["stock_quantity"]) == (True, 4)
    assert simple["variations"] == [] and simple["status"] == "draft"
    variable = mapper.from_canonical(
        "products",
        {
            "sku": "TEE",
            "name": "Tee",
            "status": "active",
            "price": "20.00",
            "options": [{"name": "Size", "values": ["S"]}],
            "variants": [{"sku": "TEE-S", "price": None, "stock": None, "options": {"Size": "S"}}],
        },
    )
    assert variable["type"] == "variable" and variable["status"] == "publish"
    assert "regular_price" not in variable
    assert variable["attributes"] == [
        {"name": "Size", "position": 0, "visible": True, "variation": True, "options": ["S"]}
    ]
    assert variable["variations"] == [
        {
            "sku": "TEE-S",
            "regular_price": "20.00",
            "sale_price": "",
            "manage_stock": False,
            "attributes": [{"name": "Size", "option": "S"}],
        }
    ]
