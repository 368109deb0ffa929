"""What the BigCommerce sandbox offers delta reads: `id:greater` keysets inside a
`date_modified` window, and `include_fields` / `exclude_fields` on catalog reads."""

from __future__ import annotations

import pytest

from apps.sandbox.models import Flavor, SandboxObject
from tests.sandbox.test_bigcommerce_api import Api, create, create_sandbox_store, product


@pytest.fixture
def api(client, db) -> Api:
    store, credentials = create_sandbox_store(slug="bc-delta", flavor=Flavor.BIGCOMMERCE)
    return Api(client, store.slug, credentials["store_hash"], credentials["access_token"])


def data(response) -> list[dict]:
    assert response.status_code == 200, response.content
    return response.json()["data"]


def test_id_greater_pages_a_date_window_in_id_order(api):
    made = [create(api, product(f"P{n}", f"P{n}")) for n in range(5)]
    SandboxObject.objects.filter(resource="product", object_id=made[1]["id"]).update(
        date_modified="2024-01-01T10:00:00+00:00"
    )
    SandboxObject.objects.exclude(object_id=made[1]["id"]).filter(resource="product").update(
        date_modified="2024-03-01T10:00:00+00:00"
    )
    window = {"date_modified:min": "2024-03-01T10:00:00+00:00", "sort": "id", "limit": 2}

    first = data(api("GET", "catalog/products", params=window))
    rest = data(api("GET", "catalog/products", params={**window, "id:greater": first[-1]["id"]}))

    assert [p["id"] for p in first + rest] == [made[i]["id"] for i in (0, 2, 3, 4)]


def test_include_fields_keeps_the_id_and_the_named_fields(api):
    create(api, product("Mug", "MUG"))
    [only_id] = data(api("GET", "catalog/products", params={"include_fields": "id"}))
    assert only_id == {"id": only_id["id"]}
    [two] = data(api("GET", "catalog/products", params={"include_fields": "name,sku"}))
    assert set(two) == {"id", "name", "sku"}
    [with_variants] = data(
        api("GET", "catalog/products", params={"include_fields": "sku", "include": "variants"})
    )
    assert set(with_variants) == {"id", "sku", "variants"}
    [without] = data(api("GET", "catalog/products", params={"exclude_fields": "id,description"}))
    assert "id" in without and "description" not in without and "name" in without
    single = api("GET", f"catalog/products/{only_id['id']}", params={"include_fields": "name"})
    assert single.json()["data"] == {"id": only_id["id"], "name": "Mug"}


def test_include_fields_on_brands(api):
    api("POST", "catalog/brands", {"name": "Acme"})
    [brand] = data(api("GET", "catalog/brands", params={"include_fields": "id"}))
    assert list(brand) == ["id"]
