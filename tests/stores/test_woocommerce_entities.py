"""WooCommerceConnector for every entity, against the real sandbox views over HTTP: a seeded
shop is read page by page, normalised, written to an empty second shop with references
translated (as the engine does through RecordMap), read back, and compared by content hash."""

from __future__ import annotations

import copy
from datetime import timedelta

import httpx
import pytest
from django.utils import timezone

from apps.sandbox.demo_catalog import seed_store
from apps.sandbox.models import Flavor, SandboxStore
from apps.sandbox.services import create_sandbox_store
from apps.stores.connectors.base import Page, RecordInvalid, WriteItem
from apps.stores.connectors.canonical import NATURAL_KEY, REFERENCES, content_hash
from apps.stores.connectors.woocommerce import WooCommerceConnector

ORDER = ("categories", "brands", "products", "customers", "orders", "posts")


@pytest.fixture
def transport(sandbox_http):
    return sandbox_http


def connect(slug: str, transport: httpx.BaseTransport) -> tuple[SandboxStore, WooCommerceConnector]:
    sandbox, credentials = create_sandbox_store(slug=slug, name=slug, flavor=Flavor.WOOCOMMERCE)
    connector = WooCommerceConnector(
        f"http://testserver/sandbox/{slug}", credentials, transport=transport, max_attempts=1
    )
    return sandbox, connector


def read_all(connector: WooCommerceConnector, entity: str, page_size: int = 7) -> list[dict]:
    records, cursor = [], None
    while True:
        page: Page = connector.read_page(entity, cursor, page_size)
        records.extend(page.records)
        if page.next_cursor is None:
            return records
        cursor = page.next_cursor


def translate(entity: str, canonical: dict, ids: dict[str, dict[str, str]]) -> dict:
    """What the engine does with REFERENCES: source ids → target ids (unmapped → None)."""
    resolved = copy.deepcopy(canonical)
    for path, target in REFERENCES.get(entity, {}).items():
        known = ids[target]
        if "[]." in path:
            outer, inner = path.split("[].", 1)
            for holder in resolved.get(outer) or []:
                if holder.get(inner) is not None:
                    holder[inner] = known.get(holder[inner])
        elif path.endswith("[]"):
            key = path[:-2]
            resolved[key] = sorted(known[v] for v in resolved.get(key) or [] if v in known)
        elif resolved.get(path) is not None:
            resolved[path] = known.get(resolved[path])
    return resolved


@pytest.fixture
def shops(transport):
    source_sandbox, source = connect("source", transport)
    target_sandbox, target = connect("target", transport)
    seed_store(
        source_sandbox,
        30,
        categories=True,
        brands=True,
        customers=20,
        orders=25,
        posts=12,
        now=timezone.now() - timedelta(days=1),
    )
    return source_sandbox, source, target_sandbox, target


def migrate(source: WooCommerceConnector, target: WooCommerceConnector, entity: str, ids):
    """Copy every record of an entity; returns the expected canonical records (references
    translated) by natural key, and the write results."""
    raws = read_all(source, entity)
    assert raws, f"the demo shop has {entity}"
    # A child category needs its parent's target id: the tree goes one record at a time
    # (parents first, as read_page gives it), the rest in the target's batch size.
    size = 1 if entity == "categories" else target.max_write_batch[entity]
    expected, results = {}, []
    for start in range(0, len(raws), size):
        items = []
        for raw in raws[start : start + size]:
            resolved = translate(entity, source.to_canonical(entity, raw), ids)
            expected[resolved[NATURAL_KEY[entity]]] = resolved
            items.append(WriteItem(str(raw["id"]), target.from_canonical(entity, resolved)))
        written = target.create(entity, items)
        assert [r.ref for r in written] == [i.ref for i in items]
        assert all(r.ok for r in written), [(r.ref, r.error) for r in written if not r.ok]
        ids[entity].update({r.ref: r.target_id for r in written})
        results += written
    return expected, results


def test_every_entity_round_trips_between_two_shops(shops):
    _, source, _, target = shops
    ids: dict[str, dict[str, str]] = {entity: {} for entity in ORDER}
    for entity in ORDER:
        expected, results = migrate(source, target, entity, ids)
        if entity == "posts":
            assert any(c["image_url"] for c in expected.values()), "some posts have images"
            # WordPress takes featured images as uploads, not URLs: they do not travel.
            for canonical in expected.values():
                canonical["image_url"] = None
        for result in results:
            # What the write answered is what the target now holds.
            written = target.to_canonical(entity, result.record)
            key = written[NATURAL_KEY[entity]]
            assert content_hash(written) == content_hash(expected[key]), (entity, key)
        copied = {
            c[NATURAL_KEY[entity]]: c
            for c in (target.to_canonical(entity, raw) for raw in read_all(target, entity, 100))
        }
        assert copied.keys() == expected.keys(), entity
        for key, canonical in expected.items():
            assert content_hash(copied[key]) == content_hash(canonical), (entity, key)
        assert target.count(entity) == source.count(entity)


def test_the_round_trip_carries_references_and_the_awkward_cases(shops):
    _, source, _, target = shops
    ids: dict[str, dict[str, str]] = {entity: {} for entity in ORDER}
    canon = {}
    for entity in ORDER:
        expected, _ = migrate(source, target, entity, ids)
        canon[entity] = expected
    paths = set(canon["categories"])
    assert {"Clothing > Sale", "Footwear > Sale", "Home > Kitchen > Mugs"} <= paths
    assert "Harbor & Pine" in canon["brands"]  # WordPress answers "Harbor &amp; Pine"
    products = canon["products"].values()
    assert any(len(p["categories"]) == 2 for p in products)
    assert any(p["brand"] for p in products) and any(p["brand"] is None for p in products)
    assert all(p["custom_fields"] for p in products)
    orders = list(canon["orders"].values())
    assert any(o["customer"] is None for o in orders), "guest orders"
    assert any(o["customer"] for o in orders)
    # A discontinued product: the line keeps its name, without product or SKU.
    unlinked = [line for o in orders for line in o["lines"] if line["product"] is None]
    assert unlinked and all(line["sku"] == "" and line["name"] for line in unlinked)
    assert {o["status"] for o in orders} >= {"completed", "processing"}
    posts = canon["posts"].values()
    assert any(p["status"] == "draft" and p["published_at"] is None for p in posts)
    assert any(p["tags"] for p in posts) and all(p["author"] for p in posts)
    # Target orders keep the source number as their reference, not their own number.
    target_orders = read_all(target, "orders", 100)
    assert {target.to_canonical("orders", o)["reference"] for o in target_orders} == set(
        canon["orders"]
    )
    references = [target.to_canonical("orders", o)["reference"] for o in target_orders]
    assert any(str(o["number"]) != ref for o, ref in zip(target_orders, references, strict=True))


def test_find_by_natural_key_for_every_entity(shops):
    _, source, _, target = shops
    ids: dict[str, dict[str, str]] = {entity: {} for entity in ORDER}
    for entity in ORDER:
        migrate(source, target, entity, ids)
    footwear_sale = target.find_by_natural_key("categories", "Footwear > Sale")
    clothing_sale = target.find_by_natural_key("categories", "Clothing > Sale")
    assert footwear_sale and clothing_sale and footwear_sale["id"] != clothing_sale["id"]
    assert footwear_sale["slug"] == "sale-footwear"
    assert target.find_by_natural_key("categories", "Sale") is None
    assert target.find_by_natural_key("brands", "Harbor & Pine")["name"] == "Harbor &amp; Pine"
    assert target.find_by_natural_key("brands", "harbor & pine") is not None
    assert target.find_by_natural_key("brands", "Nobody") is None
    product = read_all(source, "products", 100)[0]
    assert target.find_by_natural_key("products", product["sku"])["sku"] == product["sku"]
    customer = source.to_canonical("customers", read_all(source, "customers", 100)[3])
    found = target.find_by_natural_key("customers", customer["email"].upper())
    assert found is not None and found["email"] == customer["email"]
    assert target.find_by_natural_key("customers", "nobody@example.com") is None
    order = read_all(source, "orders", 100)[0]
    hit = target.find_by_natural_key("orders", str(order["number"]))
    assert hit is not None and hit["id"] == int(ids["orders"][str(order["id"])])
    assert target.find_by_natural_key("orders", "999999") is None
    post = read_all(source, "posts", 100)[0]
    assert target.find_by_natural_key("posts", post["slug"])["slug"] == post["slug"]
    assert target.find_by_natural_key("posts", "no-such-post") is None


def test_a_native_order_with_the_same_number_is_never_adopted(transport):
    sandbox, connector = connect("native", transport)
    seed_store(sandbox, 5, customers=2, orders=3)
    number = str(read_all(connector, "orders", 100)[0]["number"])
    # The shop's own order #number is not "the order migrated with reference number".
    assert connector.find_by_natural_key("orders", number) is None


def test_categories_come_parents_first_in_one_page(shops):
    _, source, _, _ = shops
    page = source.read_page("categories", None, 5)
    assert page.next_cursor is None and page.total == len(page.records) == 12
    seen: set[int] = set()
    for category in page.records:
        assert category["parent"] == 0 or category["parent"] in seen, category["name"]
        seen.add(category["id"])
    depths = [len(source.to_canonical("categories", c)["path"].split(" > ")) for c in page.records]
    assert depths == sorted(depths)
    assert source.read_page("categories", {"page": 2}, 5).records == []


def test_a_duplicate_keeps_its_status_and_code_for_adoption(shops):
    _, source, _, target = shops
    ids: dict[str, dict[str, str]] = {entity: {} for entity in ORDER}
    for entity in ("categories", "brands", "customers"):
        migrate(source, target, entity, ids)
    category = source.to_canonical("categories", read_all(source, "categories")[0])
    payload = target.from_canonical("categories", category)
    [again] = target.create("categories", [WriteItem("c", payload)])
    assert (again.ok, again.status, again.extra["code"]) == (False, 400, "term_exists")
    holder = target.find_by_natural_key("categories", category["path"])
    assert again.extra["resource_id"] == str(holder["id"])
    customer = source.to_canonical("customers", read_all(source, "customers")[0])
    customer["email"] = customer["email"].upper()
    [dup] = target.create(
        "customers", [WriteItem("u", target.from_canonical("customers", customer))]
    )
    assert (dup.ok, dup.status, dup.retryable) == (False, 400, False)
    assert dup.extra["code"] == "registration-error-email-exists"


def test_updates_change_records_in_place(shops):
    _, source, _, target = shops
    ids: dict[str, dict[str, str]] = {entity: {} for entity in ORDER}
    for entity in ORDER:
        migrate(source, target, entity, ids)
    for entity, change in (
        ("categories", lambda c: c.update(description="<p>Changed</p>", sort_order=99)),
        ("brands", lambda c: c.update(image_url=None)),
        ("customers", lambda c: c.update(last_name="Renamed", accepts_marketing=True)),
        ("orders", lambda c: c.update(status="on_hold", note="Changed", lines=c["lines"][:1])),
        (
            "posts",
            lambda c: c.update(
                title="A & B", tags=["Brand New"], status="draft", published_at=None
            ),
        ),
    ):
        raw = read_all(target, entity, 100)[-1]
        canonical = target.to_canonical(entity, raw)
        change(canonical)
        if entity == "orders":
            line = canonical["lines"][0]
            total = canonical["shipping_total"]
            canonical["subtotal"] = (
                f"{float(line['total']) + float(canonical['discount_total']):.2f}"
            )
            canonical["total"] = (
                f"{float(line['total']) + float(total) + float(canonical['tax_total']):.2f}"
            )
        [result] = target.update(
            entity, [WriteItem("u", target.from_canonical(entity, canonical), str(raw["id"]))]
        )
        assert result.ok, (entity, result.error)
        [again] = target.read_by_ids(entity, [str(raw["id"])])
        if entity == "posts":
            canonical["image_url"] = target.to_canonical(entity, again)["image_url"]
        assert content_hash(target.to_canonical(entity, again)) == content_hash(canonical), entity


def test_delete_is_idempotent_for_every_entity(shops):
    _, source, _, target = shops
    ids: dict[str, dict[str, str]] = {entity: {} for entity in ORDER}
    for entity in ORDER:
        migrate(source, target, entity, ids)
    for entity in ("orders", "posts", "customers", "brands", "categories"):
        victim = str(read_all(target, entity, 100)[-1]["id"])
        first = target.delete(entity, [victim, "nope"])
        assert first[0].ok and first[0].target_id == victim, (entity, first[0].error)
        assert not first[1].ok
        again = target.delete(entity, [victim])[0]
        assert again.ok and again.extra == {"already_absent": True}, entity
        assert target.read_by_ids(entity, [victim]) == []


def test_modified_after_in_a_cursor_narrows_orders_but_not_customers(shops):
    _, source, _, _ = shops
    orders = read_all(source, "orders", 100)
    customers = read_all(source, "customers", 100)
    cutoff = (timezone.now() - timedelta(hours=1)).strftime("%Y-%m-%dT%H:%M:%S")
    source.update(
        "orders",
        [WriteItem("o", {"customer_note": "late change"}, str(orders[2]["id"]))],
    )
    window = {"page": 1, "modified_after": cutoff}
    page = source.read_page("orders", window, 50)
    assert [o["id"] for o in page.records] == [orders[2]["id"]]
    # WooCommerce has no such filter on customers: every customer comes back.
    assert len(source.read_page("customers", window, 50).records) == len(customers)
    assert "orders" in source.MODIFIED_FILTER and "customers" not in source.MODIFIED_FILTER


# --- mapping without HTTP ------------------------------------------------------------------


@pytest.fixture
def mapper() -> WooCommerceConnector:
    # A shop whose category tree, when read again, is empty (a dangling parent stays so).
    empty = httpx.MockTransport(
        lambda request: httpx.Response(200, json=[], headers={"X-WP-TotalPages": "1"})
    )
    connector = WooCommerceConnector(
        "http://shop.invalid",
        {"consumer_key": "k", "consumer_secret": "s"},
        transport=empty,
        max_attempts=1,
    )
    connector._category_tree = {
        "1": {"id": 1, "name": "Home &amp; Garden", "parent": 0},
        "2": {"id": 2, "name": "Tools", "parent": 1},
    }
    return connector


def raw_order(**overrides) -> dict:
    return {
        "id": 9,
        "number": "1009",
        "status": "on-hold",
        "currency": "usd",
        "customer_id": 0,
        "billing": {"first_name": "A", "email": " a@x.example ", "phone": "1"},
        "shipping": {"first_name": "", "company": "Only a company"},
        "line_items": [
            {"id": 1, "product_id": 5, "sku": "S", "name": "N", "quantity": 2, "price": 4.5,
             "subtotal": "10.00", "total": "9.00"},
            {"id": 2, "product_id": 0, "sku": None, "name": "Gone", "quantity": 1, "price": 1,
             "subtotal": "1.00", "total": "1.00"},
        ],
        "shipping_total": "5", "total_tax": "0.80", "discount_total": "1.00", "total": "15.80",
        "date_created_gmt": "2026-01-02T03:04:05", "customer_note": "",
        "meta_data": [],
        **overrides,
    }  # fmt: skip


def test_orders_map_to_and_from_canonical(mapper):
    canonical = mapper.to_canonical("orders", raw_order())
    assert canonical["reference"] == "1009" and canonical["status"] == "on_hold"
    assert (canonical["currency"], canonical["customer"], canonical["email"]) == (
        "USD",
        None,
        "a@x.example",
    )
    assert canonical["billing"]["first_name"] == "A" and canonical["shipping"] is None
    assert canonical["lines"][0] == {
        "product": "5", "sku": "S", "name": "N", "quantity": 2, "price": "4.50", "total": "9.00",
    }  # fmt: skip
    assert canonical["lines"][1]["product"] is None and canonical["lines"][1]["sku"] == ""
    assert (canonical["subtotal"], canonical["created_at"]) == ("11.00", "2026-01-02T03:04:05Z")
    payload = mapper.from_canonical("orders", canonical)
    assert payload["status"] == "on-hold" and payload["customer_id"] == 0
    first, second = payload["line_items"]
    # The discount rides on the first line's subtotal, the tax on its total_tax.
    assert (first["subtotal"], first["total"], first["total_tax"]) == ("10.00", "9.00", "0.80")
    assert "sku" not in second and second["product_id"] == 0
    assert payload["shipping_lines"] == [
        {"method_id": "migrated", "method_title": "Shipping", "total": "5.00"}
    ]
    assert payload["meta_data"] == [{"key": "_migrator_reference", "value": "1009"}]
    written = raw_order(meta_data=[{"key": "_migrator_reference", "value": "A-7"}])
    assert mapper.to_canonical("orders", written)["reference"] == "A-7"


@pytest.mark.parametrize(
    ("entity", "raw", "reason"),
    [
        ("orders", raw_order(status="checkout-draft"), "status 'checkout-draft'"),
        ("orders", raw_order(date_created_gmt=None), "has no creation date"),
        ("orders", raw_order(billing="nope"), "billing is not an object"),
        ("orders", raw_order(line_items=[{"id": 3, "quantity": "x"}]), "quantity 'x'"),
        ("orders", raw_order(total="lots"), "total 'lots' is not a number"),
        ("customers", {"id": 4, "email": 7}, "customer 4: email is a int"),
        ("customers", {"id": 4, "email": "a@b.c", "shipping": []}, "shipping is not an object"),
        ("categories", {"id": 3, "name": "X", "parent": 99}, "ancestor category 99"),
        ("categories", {"id": 3, "name": " ", "parent": 0}, "has no name"),
        ("brands", {"id": 3, "name": "B", "image": "x.jpg"}, "image is not an object"),
        ("posts", {"id": 8, "tags": [1], "title": {"rendered": "T"}}, "read without _embed"),
        ("posts", {"id": 8, "title": "T"}, "title is not an object"),
    ],
)
def test_malformed_records_are_refused_with_a_reason(mapper, entity, raw, reason):
    with pytest.raises(RecordInvalid, match=reason.replace("(", r"\(")):
        mapper.to_canonical(entity, raw)


def test_categories_paths_come_from_the_cached_tree(mapper):
    canonical = mapper.to_canonical(
        "categories", {"id": 3, "name": "Saws", "parent": 2, "slug": "saws", "menu_order": 4}
    )
    assert canonical["path"] == "Home & Garden > Tools > Saws"
    assert (canonical["parent"], canonical["sort_order"], canonical["image_url"]) == ("2", 4, None)
    payload = mapper.from_canonical("categories", {**canonical, "parent": "77"})
    assert (payload["parent"], payload["image"], payload["slug"]) == (77, {}, "saws")


def test_customers_keep_company_and_phone_without_an_address(mapper):
    canonical = {
        "email": "ada@x.example",
        "first_name": "Ada",
        "last_name": "L",
        "company": "Engines Ltd",
        "phone": "+44 1",
        "accepts_marketing": True,
        "addresses": [],
    }
    payload = mapper.from_canonical("customers", canonical)
    assert payload["billing"]["company"] == "Engines Ltd"
    assert payload["billing"]["email"] == "ada@x.example"
    assert payload["meta_data"] == [{"key": "accepts_marketing", "value": "yes"}]
    raw = {"id": 1, **payload, "email": " ADA@x.example"}
    assert mapper.to_canonical("customers", raw) == canonical  # no address from company alone
