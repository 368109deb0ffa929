"""The demo catalog: deterministic, realistic, and seeded in the API's own shapes."""

from __future__ import annotations

import time
from collections import Counter
from decimal import Decimal

import pytest

from apps.sandbox.demo_catalog import generate_products, seed_woocommerce
from apps.sandbox.models import Flavor, SandboxObject, SandboxStore
from apps.sandbox.services import create_sandbox_store
from apps.sandbox.woocommerce import schema


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
