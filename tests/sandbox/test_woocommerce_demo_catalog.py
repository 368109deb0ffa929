"""The demo catalog: deterministic, realistic, and seeded in the API's own shapes."""

from __future__ import annotations

import time
from collections import Counter
from datetime import UTC, datetime
from decimal import Decimal

import pytest

from apps.sandbox.demo_catalog import (
    generate_brands,
    generate_categories,
    generate_customers,
    generate_products,
    seed_store,
    seed_woocommerce,
)
from apps.sandbox.models import Flavor, SandboxObject, SandboxStore
from apps.sandbox.services import create_sandbox_store
from apps.sandbox.woocommerce import schema
from apps.sandbox.woocommerce.schema import is_email
from apps.sandbox.woocommerce.terms import TERM_SPEC


def make_sandbox(slug: str) -> SandboxStore:
    sandbox, _ = create_sandbox_store(slug=slug, name=slug, flavor=Flavor.WOOCOMMERCE)
    return sandbox


def test_same_seed_same_catalog_and_prefixes_are_stable():
    assert generate_products(60, seed=3) == generate_products(60, seed=3)
    assert generate_products(200)[:60] == generate_products(60)
    assert generate_products(60, seed=3) != generate_products(60, seed=4)


def test_catalog_is_realistic_and_unique():
    products = generate_products(400)
    names = [p["name"] for p in products]
    skus = [p["sku"] for p in products] + [
        v["sku"] for p in products for v in p.get("variations", [])
    ]
    assert len(set(names)) == len(names)
    assert len(set(skus)) == len(skus)
    variable = [p for p in products if p["type"] == "variable"]
    assert 0.3 < len(variable) / len(products) < 0.5
    for product in variable:
        assert 2 <= len(product["variations"]) <= 12
        choices = [a for a in product["attributes"] if a["variation"]]
        for variation in product["variations"]:
            chosen = {a["name"]: a["option"] for a in variation["attributes"]}
            assert chosen.keys() == {a["name"] for a in choices}
            assert all(chosen[a["name"]] in a["options"] for a in choices)
    prices = [p["regular_price"] for p in products if p["type"] == "simple"]
    prices += [v["regular_price"] for p in variable for v in p["variations"]]
    assert all(Decimal(price) > 0 and len(price.split(".")[1]) == 2 for price in prices)
    for product in products:
        # Every payload passes the API's own argument checks.
        schema.check_payload(product, schema.PRODUCT_SPEC)
        for variation in product.get("variations", []):
            schema.check_payload(variation, schema.VARIATION_SPEC)
    assert len(Counter(p["categories"][0]["name"] for p in products)) >= 5


@pytest.mark.django_db
def test_seed_500_is_fast_and_idempotent():
    sandbox = make_sandbox("demo")
    started = time.perf_counter()
    assert seed_woocommerce(sandbox, 500) == 500
    elapsed = time.perf_counter() - started
    assert elapsed < 5, f"seeding 500 products took {elapsed:.1f}s"
    products = SandboxObject.objects.filter(store=sandbox, resource="product")
    variations = SandboxObject.objects.filter(store=sandbox, resource="variation")
    assert products.count() == 500
    expected = sum(len(p.get("variations", [])) for p in generate_products(500))
    assert variations.count() == expected
    assert seed_woocommerce(sandbox, 500) == 0
    assert seed_woocommerce(sandbox, 520) == 20
    assert products.count() == 520


@pytest.mark.django_db
def test_seeded_records_match_what_the_api_builds():
    sandbox = make_sandbox("demo")
    seed_woocommerce(sandbox, 30)
    for row in SandboxObject.objects.filter(store=sandbox, resource="product"):
        data = row.data
        assert (data["id"], data["sku"], data["name"]) == (row.object_id, row.sku, row.name)
        children = SandboxObject.objects.filter(store=sandbox, parent_id=row.object_id)
        assert data["variations"] == sorted(children.values_list("object_id", flat=True))
        if data["type"] == "variable":
            prices = [Decimal(c.data["price"]) for c in children]
            assert Decimal(data["price"]) == min(prices)
            assert data["regular_price"] == ""
        else:
            assert data["price"] in (data["regular_price"], data["sale_price"])
        assert data["permalink"].endswith(f"/sandbox/demo/product/{data['slug']}/")


# --- the rest of the shop ------------------------------------------------------------------------


def test_category_tree_and_brands_are_fixed_and_parents_come_first():
    categories = generate_categories()
    assert categories == generate_categories()
    seen: set[int] = set()
    for category in categories:
        assert category["parent"] == 0 or category["parent"] in seen
        seen.add(category["id"])
        schema.check_payload(category, TERM_SPEC)
    names = [c["name"] for c in categories]
    assert names.count("Sale") == 2  # same name, different parents
    assert len(generate_brands()) == 8
    products = generate_products(100)
    assert any(len(p["categories"]) == 2 for p in products)
    assert any("brands" in p for p in products) and any("brands" not in p for p in products)


def test_customers_are_deterministic_and_messy_only_when_asked():
    moment = datetime(2026, 1, 1, tzinfo=UTC)
    clean = generate_customers(200, now=moment)
    assert clean == generate_customers(200, now=moment)
    assert generate_customers(300, now=moment)[:200] == clean
    emails = [c["email"] for c in clean]
    assert len({e.lower() for e in emails}) == 200
    assert all(is_email(e) for e in emails)
    messy = generate_customers(300, messy=True, now=moment)
    keys = [c["email"].strip().lower() for c in messy]
    assert len(set(keys)) < len(keys), "duplicates by case or whitespace"
    assert any(c["email"] != c["email"].strip() for c in messy), "stray whitespace"
    assert any(not is_email(c["email"].strip()) for c in messy), "a few invalid emails"
    phones = [c["billing"]["phone"] for c in messy]
    assert any("(" in p for p in phones) and any("ext" in p for p in phones)
    assert any(c["billing"]["address_1"] == "" for c in clean), "some never bought"


@pytest.mark.django_db
def test_orders_reference_seeded_products_and_customers():
    sandbox = make_sandbox("orders")
    seed_store(sandbox, 30, customers=15, orders=50)
    orders = SandboxObject.objects.filter(store=sandbox, resource="order")
    assert orders.count() == 50
    products = set(
        SandboxObject.objects.filter(store=sandbox, resource="product").values_list(
            "object_id", flat=True
        )
    )
    customers = set(
        SandboxObject.objects.filter(store=sandbox, resource="customer").values_list(
            "object_id", flat=True
        )
    )
    lines = [line for data in orders.values_list("data", flat=True) for line in data["line_items"]]
    assert all(line["product_id"] in products for line in lines if line["product_id"])
    assert any(line["variation_id"] for line in lines)
    assert any(line["product_id"] == 0 and line["sku"] is None for line in lines)
    buyers = [data["customer_id"] for data in orders.values_list("data", flat=True)]
    assert 0 in buyers and set(buyers) - {0} <= customers
    statuses = Counter(data["status"] for data in orders.values_list("data", flat=True))
    assert statuses["completed"] > statuses["failed"] > 0


@pytest.mark.django_db
def test_seed_every_entity_is_fast_and_idempotent():
    sandbox = make_sandbox("everything")
    started = time.perf_counter()
    done = seed_store(
        sandbox, 300, categories=True, brands=True, customers=200, orders=300, posts=40,
        messy=True,
    )  # fmt: skip
    elapsed = time.perf_counter() - started
    assert elapsed < 10, f"seeding took {elapsed:.1f}s"
    assert (done.categories, done.brands, done.products) == (12, 8, 300)
    assert (done.customers, done.orders, done.posts) == (200, 300, 40)
    again = seed_store(
        sandbox, 300, categories=True, brands=True, customers=200, orders=300, posts=40
    )
    assert again == type(again)()  # nothing twice
    more = seed_store(sandbox, 300, customers=210, orders=320)
    assert (more.customers, more.orders) == (10, 20)
    counts = Counter(SandboxObject.objects.filter(store=sandbox).values_list("resource", flat=True))
    assert counts["tag"] > 0 and counts["user"] == 4 and counts["media"] > 0
    category = SandboxObject.objects.get(store=sandbox, resource="category", object_id=15)
    assert category.data["count"] > 0  # products counted into their categories


@pytest.mark.django_db
def test_seed_woocommerce_defaults_to_products_only():
    sandbox = make_sandbox("defaults")
    assert seed_woocommerce(sandbox, 20) == 20
    resources = set(SandboxObject.objects.filter(store=sandbox).values_list("resource", flat=True))
    assert resources == {"product", "variation"}
    # Without the terms in the store, WordPress drops the ids products name.
    product = SandboxObject.objects.filter(store=sandbox, resource="product").first()
    assert product.data["categories"] == [] and product.data["brands"] == []
