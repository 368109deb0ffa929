"""BigCommerceConnector: categories, brands, and products' categories, brand, images and custom
fields, against the sandbox over real HTTP. References are translated through a small id map,
as the engine does with RecordMap."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from apps.stores.connectors.base import RecordInvalid, WriteItem
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


def translate(record: dict[str, Any], field: str, ids: dict[str, str]) -> dict[str, Any]:
    """A source record with one reference field mapped to target ids (the engine's job)."""
    out = copy.deepcopy(record)
    value = out.get(field)
    if isinstance(value, list):
        out[field] = sorted(ids[v] for v in value)
    elif value is not None:
        out[field] = ids[value]
    return out


def write(connector, entity: str, *records: dict[str, Any]) -> list[str]:
    items = [
        WriteItem(ref=str(n), payload=connector.from_canonical(entity, r))
        for n, r in enumerate(records)
    ]
    results = connector.create(entity, items)
    assert all(r.ok for r in results), [r.error for r in results]
    return [r.target_id for r in results]


def category(name: str, path: str | None = None, parent: str | None = None, **fields: Any):
    return {
        "name": name,
        "slug": name.lower().replace(" ", "-"),
        "path": path or name,
        "parent": parent,
        "description": f"<p>{name}</p>",
        "sort_order": 0,
        "image_url": None,
        **fields,
    }


# --- categories ----------------------------------------------------------------------------


def test_category_tree_round_trip_with_parents_translated(connector):
    source_root = category("Shoes", image_url="https://img.example/shoes.jpg", sort_order=2)
    [root_id] = write(connector, "categories", source_root)
    ids = {"src-10": root_id}
    source_child = category("Trail Runners", "Shoes > Trail Runners", parent="src-10")
    resolved = translate(source_child, "parent", ids)
    [child_id] = write(connector, "categories", resolved)

    [raw] = connector.read_by_ids("categories", [child_id])
    back = connector.to_canonical("categories", raw)

    assert raw["url"]["path"] == "/shoes/trail-runners/"
    assert back == resolved
    assert content_hash(back) == content_hash(resolved)
    assert connector.record_id(raw) == child_id
    [root_raw] = connector.read_by_ids("categories", [root_id])
    assert connector.to_canonical("categories", root_raw) == source_root


def test_read_page_gives_the_whole_tree_parents_first(connector):
    [a] = write(connector, "categories", category("A"))
    [a1] = write(connector, "categories", category("A1", "A > A1", parent=a))
    [b] = write(connector, "categories", category("B"))
    [a1x] = write(connector, "categories", category("A1x", "A > A1 > A1x", parent=a1))
    [b1] = write(connector, "categories", category("B1", "B > B1", parent=b))

    page = connector.read_page("categories", None, 2)

    assert [connector.record_id(r) for r in page.records] == [a, b, a1, b1, a1x]
    assert page.next_cursor is None
    assert page.total == 5
    assert connector.count("categories") == 5
    paths = [connector.to_canonical("categories", r)["path"] for r in page.records]
    assert paths == ["A", "B", "A > A1", "B > B1", "A > A1 > A1x"]


def test_find_by_path_loads_the_tree_once_and_reloads_on_a_miss(
    connector, requests, sandbox, sandbox_http
):
    [shoes] = write(connector, "categories", category("Shoes"))
    write(connector, "categories", category("Runners", "Shoes > Runners", parent=shoes))
    requests.seen.clear()

    hit = connector.find_by_natural_key("categories", "Shoes > Runners")
    again = connector.find_by_natural_key("categories", "shoes > RUNNERS")

    assert hit is not None and hit["name"] == "Runners"
    assert again == hit
    assert requests.methods() == ["GET"]  # one tree load serves both lookups
    # Written by someone else after the tree was loaded: a miss reloads it once.
    other = BigCommerceConnector(BASE, sandbox[1], transport=sandbox_http)
    write(other, "categories", category("Hats"))
    assert connector.find_by_natural_key("categories", "Hats") is not None
    assert connector.find_by_natural_key("categories", "Shoes > Nope") is None


def test_a_sibling_name_clash_fails_that_category_alone(connector):
    write(connector, "categories", category("Shoes"))
    items = [
        WriteItem(ref=name, payload=connector.from_canonical("categories", category(name)))
        for name in ("Hats", "shoes", "Socks")
    ]

    results = connector.create("categories", items)

    assert [r.ok for r in results] == [True, False, True]
    assert results[1].status == 409
    assert "already exists" in results[1].error
    assert results[0].record["name"] == "Hats"
    assert connector.find_by_natural_key("categories", "Shoes")["name"] == "Shoes"


def test_categories_are_written_ten_per_request(connector, requests):
    requests.seen.clear()

    write(connector, "categories", *(category(f"C{n}") for n in range(13)))

    assert requests.methods() == ["POST", "POST"]
    assert connector.max_write_batch["categories"] == 10


def test_an_invalid_category_in_a_batch_fails_alone(connector):
    good = connector.from_canonical("categories", category("Good"))
    bad = connector.from_canonical("categories", category("x" * 60))

    results = connector.create(
        "categories", [WriteItem(ref="good", payload=good), WriteItem(ref="bad", payload=bad)]
    )

    assert [r.ok for r in results] == [True, False]
    assert results[1].status == 422
    assert "name" in results[1].error


def test_category_update_reads_the_record_back(connector):
    [shoes] = write(connector, "categories", category("Shoes"))
    changed = category("Footwear", description="all feet")

    [result] = connector.update(
        "categories",
        [
            WriteItem(
                ref="s", payload=connector.from_canonical("categories", changed), target_id=shoes
            )
        ],
    )

    assert result.ok, result.error
    assert connector.to_canonical("categories", result.record) == changed
    assert connector.find_by_natural_key("categories", "Footwear") is not None


def test_category_delete(connector):
    [shoes] = write(connector, "categories", category("Shoes"))
    write(connector, "categories", category("Runners", "Shoes > Runners", parent=shoes))

    [result] = connector.delete("categories", [shoes])

    assert result.ok
    assert connector.read_page("categories", None, 100).records == []


def test_a_category_whose_parent_is_missing_is_invalid(connector):
    with pytest.raises(RecordInvalid, match="parent 999"):
        connector.to_canonical(
            "categories", {"category_id": 5, "parent_id": 999, "name": "Lost", "url": {}}
        )


# --- brands --------------------------------------------------------------------------------


def brand(name: str = "Acme", **fields: Any) -> dict[str, Any]:
    return {"name": name, "slug": name.lower(), "image_url": None, **fields}


def test_brand_round_trip_and_find_by_name(connector):
    record = brand(image_url="https://img.example/acme.png")
    [brand_id] = write(connector, "brands", record)

    [raw] = connector.read_by_ids("brands", [brand_id])
    found = connector.find_by_natural_key("brands", "ACME")

    assert connector.to_canonical("brands", raw) == record
    assert found is not None and str(found["id"]) == brand_id
    assert connector.find_by_natural_key("brands", "Nope") is None
    assert connector.count("brands") == 1


def test_duplicate_brand_is_a_409_failure(connector):
    write(connector, "brands", brand())

    [result] = connector.create(
        "brands", [WriteItem(ref="x", payload=connector.from_canonical("brands", brand("acme")))]
    )

    assert not result.ok
    assert result.status == 409


def test_brand_update_paging_and_delete(connector):
    ids = write(connector, "brands", *(brand(f"B{n}") for n in range(3)))

    [updated] = connector.update(
        "brands",
        [WriteItem("b", connector.from_canonical("brands", brand("B0 new")), target_id=ids[0])],
    )
    first = connector.read_page("brands", None, 2)
    second = connector.read_page("brands", first.next_cursor, 2)
    deleted = connector.delete("brands", [ids[1], "424242"])

    assert updated.ok and updated.record["name"] == "B0 new"
    assert [str(r["id"]) for r in first.records + second.records] == ids
    assert second.next_cursor is None
    assert [r.ok for r in deleted] == [True, True]  # already gone is gone


# --- products with references, images and custom fields ------------------------------------


def product(**fields: Any) -> dict[str, Any]:
    record = {
        "sku": "MUG",
        "name": "Mug",
        "slug": "mug",
        "description": "",
        "status": "active",
        "price": "12.50",
        "sale_price": None,
        "stock": 3,
        "weight": "1",
        "categories": ["src-2", "src-1"],
        "brand": "src-b",
        "images": [
            {"url": "https://img.example/1.jpg", "alt": "front", "position": 0},
            {"url": "https://img.example/2.jpg", "alt": "side", "position": 1},
        ],
        "custom_fields": [{"name": "Colour", "value": "Blue"}, {"name": "Size", "value": "L"}],
        "options": [],
        "variants": [],
    }
    record.update(fields)
    return record


def test_product_round_trip_with_categories_brand_images_and_custom_fields(connector):
    cat_ids = write(connector, "categories", category("Kitchen"), category("Gifts"))
    [brand_id] = write(connector, "brands", brand())
    ids = {"src-1": cat_ids[0], "src-2": cat_ids[1], "src-b": brand_id}
    resolved = translate(translate(product(), "categories", ids), "brand", ids)

    [target_id] = write(connector, "products", resolved)
    [raw] = connector.read_by_ids("products", [target_id])
    back = connector.to_canonical("products", raw)

    assert back == resolved
    assert content_hash(back) == content_hash(resolved)
    assert raw["custom_url"]["url"] == "/mug/"


def test_product_update_drops_removed_images_and_fields_and_keeps_the_rest(connector, requests):
    record = product(categories=[], brand=None)
    [target_id] = write(connector, "products", record)
    [before] = connector.read_by_ids("products", [target_id])
    changed = product(
        categories=[],
        brand=None,
        images=[
            {"url": "https://img.example/2.jpg", "alt": "side, now first", "position": 0},
            {"url": "https://img.example/3.jpg", "alt": "new", "position": 1},
        ],
        custom_fields=[{"name": "Colour", "value": "Red"}],
    )
    requests.seen.clear()

    [result] = connector.update(
        "products",
        [WriteItem("m", connector.from_canonical("products", changed), target_id=target_id)],
    )

    assert result.ok, result.error
    assert connector.to_canonical("products", result.record) == changed
    [after] = connector.read_by_ids("products", [target_id])
    assert connector.to_canonical("products", after) == changed
    kept = {i["image_url"]: i["id"] for i in before["images"]}
    assert {i["image_url"]: i["id"] for i in after["images"]}["https://img.example/2.jpg"] == (
        kept["https://img.example/2.jpg"]
    )
    assert after["custom_fields"][0]["id"] == before["custom_fields"][0]["id"]
    assert requests.methods().count("DELETE") == 2  # one image, one custom field


def test_a_product_in_an_unknown_category_fails_alone(connector):
    payload = connector.from_canonical("products", product(categories=["424242"], brand=None))

    [result] = connector.create("products", [WriteItem(ref="m", payload=payload)])

    assert not result.ok
    assert result.status == 422
    assert "424242" in result.error


# --- malformed records ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("entity", "raw", "reason"),
    [
        ("categories", {"category_id": 1, "parent_id": 0, "name": ""}, "has no name"),
        ("categories", {"name": "No id"}, "category_id"),
        ("categories", {"category_id": 1, "name": "A", "sort_order": "x"}, "sort_order"),
        ("brands", {"id": 1, "name": None}, "has no name"),
        ("customers", {"id": 1, "email": "not-an-email"}, "no email"),
        ("customers", {"id": 1, "email": "a@b.c", "addresses": "none"}, "addresses"),
        ("posts", {"id": 1, "url": "", "title": "T"}, "has no URL"),
        ("posts", {"id": 1, "url": "/blog/a/", "tags": "x"}, "tags"),
        (
            "posts",
            {"id": 1, "url": "/blog/a/", "is_published": True, "published_date_iso8601": "soon"},
            "not a date",
        ),
        ("products", {"id": 1, "name": "A", "price": 1, "images": [{"id": 2}]}, "image has no URL"),
        ("products", {"id": 1, "name": "A", "price": 1, "categories": 5}, "categories"),
    ],
)
def test_to_canonical_refuses_malformed_records(connector, entity, raw, reason):
    with pytest.raises(RecordInvalid, match=reason):
        connector.to_canonical(entity, raw)
