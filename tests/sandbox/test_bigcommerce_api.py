"""The BigCommerce sandbox speaks Catalog API v3 for products: envelopes, paging, errors."""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import urlencode

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from apps.sandbox.bigcommerce import store as bc_store
from apps.sandbox.models import Flavor, SandboxObject, SandboxStore, hash_secret
from apps.sandbox.services import new_credentials

RATE_HEADERS = (
    "X-Rate-Limit-Requests-Quota",
    "X-Rate-Limit-Requests-Left",
    "X-Rate-Limit-Time-Window-Ms",
    "X-Rate-Limit-Time-Reset-Ms",
)


class Api:
    """A thin caller: the store's URL prefix and token on every request."""

    def __init__(self, client: Client, slug: str, store_hash: str, token: str) -> None:
        self.client = client
        self.root = f"/sandbox/{slug}/stores/{store_hash}/"
        self.prefix = self.root + "v3/"
        self.token = token

    def v2(self, method: str, path: str, body: Any = None, **options: Any):
        return self(method, path, body, prefix=self.root + "v2/", **options)

    def __call__(self, method: str, path: str, body: Any = None, **options: Any):
        headers = {"X-Auth-Token": options.pop("token", self.token)}
        prefix = options.pop("prefix", self.prefix)
        call = getattr(self.client, method.lower())
        url = prefix + path
        if options.get("params"):
            # In the URL for every method: the test client sends DELETE data as a body.
            url += "?" + urlencode(options.pop("params"))
        if body is None:
            return call(url, headers=headers)
        raw = body if isinstance(body, str) else json.dumps(body)
        return call(url, raw, content_type="application/json", headers=headers)


def create_sandbox_store(*, slug: str, flavor: str, **quota: int):
    """As apps.sandbox.services.create_sandbox_store, which cannot run while
    `SandboxStore.objects` is shadowed by SandboxObject.store's related_name="objects"."""
    key_id, secret, credentials = new_credentials(flavor)
    store = SandboxStore(
        slug=slug, name=slug, flavor=flavor, key_id=key_id, secret_hash=hash_secret(secret), **quota
    )
    store.save()
    return store, credentials


@pytest.fixture
def sandbox(db):
    return create_sandbox_store(slug="bc-shop", flavor=Flavor.BIGCOMMERCE)


@pytest.fixture
def api(client, sandbox) -> Api:
    store, credentials = sandbox
    return Api(client, store.slug, credentials["store_hash"], credentials["access_token"])


def product(name: str = "Mug", sku: str = "MUG-1", **fields: Any) -> dict[str, Any]:
    return {"name": name, "type": "physical", "sku": sku, "weight": 1, "price": 12.5, **fields}


def shirt(name: str = "Shirt", sku: str = "SH") -> dict[str, Any]:
    return product(
        name,
        sku,
        inventory_tracking="variant",
        variants=[
            {
                "sku": f"{sku}-{size}-{colour}",
                "price": 20,
                "inventory_level": stock,
                "option_values": [
                    {"option_display_name": "Size", "label": size},
                    {"option_display_name": "Colour", "label": colour},
                ],
            }
            for size, colour, stock in (("S", "Red", 1), ("M", "Red", 2), ("S", "Blue", 3))
        ],
    )


def create(api: Api, body: dict[str, Any]) -> dict[str, Any]:
    response = api("POST", "catalog/products", body)
    assert response.status_code == 200, response.content
    return response.json()["data"]


# --- create and read -----------------------------------------------------------------------


def test_create_returns_the_product_in_the_single_envelope(api):
    response = api("POST", "catalog/products", product(description="<p>Hot</p>"))

    assert response.status_code == 200
    body = response.json()
    assert body["meta"] == {}
    data = body["data"]
    assert isinstance(data["id"], int)
    assert data["name"] == "Mug"
    assert data["sku"] == "MUG-1"
    assert data["price"] == 12.5
    assert data["description"] == "<p>Hot</p>"
    assert data["custom_url"] == {"url": "/mug/", "is_customized": False}
    assert data["inventory_tracking"] == "none"
    assert data["date_created"].endswith("+00:00")
    # A product without options has one base variant carrying the product's SKU.
    assert [v["sku"] for v in data["variants"]] == ["MUG-1"]
    assert data["variants"][0]["option_values"] == []
    assert data["base_variant_id"] == data["variants"][0]["id"]


def test_get_one_product_with_and_without_variants(api):
    created = create(api, shirt())

    plain = api("GET", f"catalog/products/{created['id']}").json()
    with_variants = api(
        "GET", f"catalog/products/{created['id']}", params={"include": "variants,options"}
    ).json()

    assert plain["meta"] == {}
    assert "variants" not in plain["data"]
    assert [v["sku"] for v in with_variants["data"]["variants"]] == [
        "SH-S-Red",
        "SH-M-Red",
        "SH-S-Blue",
    ]
    assert [o["display_name"] for o in with_variants["data"]["options"]] == ["Size", "Colour"]


def test_inline_variants_create_options_and_option_values(api):
    data = create(api, shirt())

    variants = data["variants"]
    assert all(v["product_id"] == data["id"] for v in variants)
    assert variants[0]["option_values"][0]["option_display_name"] == "Size"
    assert variants[0]["option_values"][0]["label"] == "S"
    # The same label of the same option is one option value, shared by variants.
    size_of = [v["option_values"][0] for v in variants]
    assert size_of[0]["id"] == size_of[2]["id"]
    assert size_of[0]["option_id"] == size_of[1]["option_id"]
    assert size_of[0]["id"] != size_of[1]["id"]
    # Variant-tracked stock is the sum of the variants'.
    assert data["inventory_level"] == 6
    assert data["base_variant_id"] is None
    rows = SandboxObject.objects.filter(resource="variant", parent_id=data["id"])
    assert sorted(rows.values_list("sku", flat=True)) == ["SH-M-Red", "SH-S-Blue", "SH-S-Red"]


def test_base_variant_does_not_take_the_product_sku_in_the_table(api):
    data = create(api, product())

    row = SandboxObject.objects.get(resource="variant", parent_id=data["id"])
    # Stored without SKU so the store-wide unique SKU constraint sees only the product.
    assert row.sku == ""
    listed = api("GET", f"catalog/products/{data['id']}/variants").json()
    assert listed["data"][0]["sku"] == "MUG-1"
    assert listed["meta"]["pagination"]["total"] == 1


def test_unknown_product_is_404_in_the_error_envelope(api):
    response = api("GET", "catalog/products/999999")

    assert response.status_code == 404
    body = response.json()
    assert body["status"] == 404
    assert body["title"] == "The requested product was not found."
    assert body["type"].startswith("https://")


# --- listing -------------------------------------------------------------------------------


def test_list_envelope_and_pagination_meta(api):
    for number in range(5):
        create(api, product(f"Mug {number}", f"MUG-{number}"))

    response = api("GET", "catalog/products", params={"limit": 2, "page": 2})

    assert response.status_code == 200
    body = response.json()
    assert [p["sku"] for p in body["data"]] == ["MUG-2", "MUG-3"]
    pagination = body["meta"]["pagination"]
    assert pagination["total"] == 5
    assert pagination["count"] == 2
    assert pagination["per_page"] == 2
    assert pagination["current_page"] == 2
    assert pagination["total_pages"] == 3
    assert "page=1" in pagination["links"]["previous"]
    assert "page=2" in pagination["links"]["current"]
    assert "page=3" in pagination["links"]["next"]
    assert pagination["links"]["next"].startswith("?")


def test_last_page_has_no_next_link_and_first_no_previous(api):
    create(api, product())

    pagination = api("GET", "catalog/products").json()["meta"]["pagination"]

    assert pagination["total_pages"] == 1
    assert set(pagination["links"]) == {"current"}
    assert pagination["per_page"] == 50  # the platform's default page size


def test_limit_above_250_is_capped_to_250(api):
    response = api("GET", "catalog/products", params={"limit": 1000})

    assert response.status_code == 200
    assert response.json()["meta"]["pagination"]["per_page"] == 250


def test_include_options_pages_ten_at_a_time(api):
    pagination = api("GET", "catalog/products", params={"limit": 100, "include": "options"}).json()[
        "meta"
    ]["pagination"]

    assert pagination["per_page"] == 10


def test_filters_by_sku_sku_in_id_in_and_name(api):
    ids = [create(api, product(f"Mug {n}", f"MUG-{n}"))["id"] for n in range(4)]

    def skus(**params):
        return [p["sku"] for p in api("GET", "catalog/products", params=params).json()["data"]]

    assert skus(sku="MUG-2") == ["MUG-2"]
    assert skus(sku="MUG") == []
    assert skus(**{"sku:in": "MUG-3,MUG-0"}) == ["MUG-0", "MUG-3"]
    assert skus(**{"id:in": f"{ids[1]},{ids[2]}"}) == ["MUG-1", "MUG-2"]
    assert skus(name="Mug 3") == ["MUG-3"]
    assert skus(**{"id:greater": str(ids[2])}) == ["MUG-3"]


def test_sku_filter_matches_the_product_sku_not_variant_skus(api):
    create(api, shirt())

    data = api("GET", "catalog/products", params={"sku": "SH-S-Red"}).json()["data"]

    assert data == []


def test_date_modified_window_filters(api):
    early = create(api, product("Early", "E"))
    late = create(api, product("Late", "L"))
    SandboxObject.objects.filter(resource="product", object_id=early["id"]).update(
        date_modified="2024-01-01T10:00:00+00:00"
    )
    SandboxObject.objects.filter(resource="product", object_id=late["id"]).update(
        date_modified="2024-03-01T10:00:00+00:00"
    )

    def skus(**params):
        return [p["sku"] for p in api("GET", "catalog/products", params=params).json()["data"]]

    assert skus(**{"date_modified:min": "2024-02-01"}) == ["L"]
    assert skus(**{"date_modified:max": "2024-02-01T00:00:00+00:00"}) == ["E"]
    # Bounds are inclusive, so a record at the watermark is read, never skipped.
    assert skus(**{"date_modified:min": "2024-03-01T10:00:00+00:00"}) == ["L"]
    bad = api("GET", "catalog/products", params={"date_modified:min": "yesterday"})
    assert bad.status_code == 422
    assert "date_modified:min" in bad.json()["errors"]


def test_sort_by_name_desc_breaks_ties_by_id(api):
    first = create(api, product("B", "B1"))
    create(api, product("A", "A1"))
    second = create(api, product("C", "C1"))
    SandboxObject.objects.filter(object_id=second["id"]).update(name="B", unique_name="B2")

    data = api("GET", "catalog/products", params={"sort": "name", "direction": "desc"}).json()

    assert [p["id"] for p in data["data"]][:2] == [second["id"], first["id"]]
    assert data["data"][2]["name"] == "A"


def test_unknown_sort_is_422(api):
    response = api("GET", "catalog/products", params={"sort": "colour"})

    assert response.status_code == 422
    assert "sort" in response.json()["errors"]


def test_include_variants_does_not_query_per_product(api):
    for number in range(12):
        create(api, shirt(f"Shirt {number}", f"SH{number}"))

    with CaptureQueriesContext(connection) as queries:
        response = api("GET", "catalog/products", params={"include": "variants", "limit": 250})

    assert response.status_code == 200
    assert len(response.json()["data"]) == 12
    assert all(len(p["variants"]) == 3 for p in response.json()["data"])
    # store + count + page + one query for all the page's variants (no quota writes: unlimited).
    assert len(queries) <= 5


# --- errors --------------------------------------------------------------------------------


def test_duplicate_name_is_409(api):
    create(api, product("Mug", "MUG-1"))

    response = api("POST", "catalog/products", product("Mug", "MUG-2"))

    assert response.status_code == 409
    body = response.json()
    assert body["status"] == 409
    assert body["title"] == "The product name is a duplicate"
    assert "name" in body["errors"]


def test_duplicate_sku_is_409(api):
    create(api, product("Mug", "MUG-1"))

    response = api("POST", "catalog/products", product("Other mug", "MUG-1"))

    assert response.status_code == 409
    assert response.json()["title"] == "The product sku is a duplicate"
    assert "sku" in response.json()["errors"]


def test_product_sku_equal_to_another_products_variant_sku_is_409(api):
    create(api, shirt())

    response = api("POST", "catalog/products", product("Mug", "SH-M-Red"))

    assert response.status_code == 409
    assert response.json()["title"] == "The product sku is a duplicate"


def test_variant_sku_used_elsewhere_is_409(api):
    create(api, product("Mug", "MUG-1"))
    body = shirt()
    body["variants"][1]["sku"] = "MUG-1"

    response = api("POST", "catalog/products", body)

    assert response.status_code == 409
    assert response.json()["title"] == "The variant sku is a duplicate"
    assert "variants.1.sku" in response.json()["errors"]
    assert not SandboxObject.objects.filter(name="Shirt").exists()


def test_repeated_option_values_are_409(api):
    body = shirt()
    body["variants"][1]["option_values"] = body["variants"][0]["option_values"]

    response = api("POST", "catalog/products", body)

    assert response.status_code == 409
    assert response.json()["title"] == "Variant with the same option values set exists"


def test_database_constraint_refuses_a_duplicate_the_precheck_missed(api, monkeypatch):
    """Two requests racing both pass the friendly check; the unique constraint decides."""
    create(api, product("Mug", "MUG-1"))
    real_check = bc_store._check_claims
    calls = []

    def first_call_misses(*args, **kwargs):
        calls.append(1)
        if len(calls) > 1:
            real_check(*args, **kwargs)

    monkeypatch.setattr(bc_store, "_check_claims", first_call_misses)

    response = api("POST", "catalog/products", product("Mug", "MUG-9"))

    assert response.status_code == 409
    assert response.json()["title"] == "The product name is a duplicate"
    assert SandboxObject.objects.filter(resource="product").count() == 1


def test_missing_weight_is_422_with_field_errors(api):
    body = product()
    del body["weight"]

    response = api("POST", "catalog/products", body)

    assert response.status_code == 422
    error = response.json()
    assert error["status"] == 422
    assert error["title"] == "JSON data is missing or invalid"
    assert error["type"].startswith("https://")
    assert set(error["errors"]) == {"weight"}


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"price": -1}, "price"),
        ({"price": "12.50"}, "price"),
        ({"name": ""}, "name"),
        ({"type": "service"}, "type"),
        ({"inventory_level": 1.5}, "inventory_level"),
        ({"is_visible": "yes"}, "is_visible"),
    ],
)
def test_invalid_fields_are_422(api, changes, field):
    response = api("POST", "catalog/products", product(**changes))

    assert response.status_code == 422
    assert field in response.json()["errors"]
    assert not SandboxObject.objects.exists()


def test_variant_problems_are_named_by_path(api):
    body = shirt()
    body["variants"][0]["price"] = -5
    body["variants"][2]["option_values"] = []
    del body["variants"][1]["sku"]

    errors = api("POST", "catalog/products", body).json()["errors"]

    assert {"variants.0.price", "variants.1.sku", "variants.2.option_values"} <= set(errors)


def test_invalid_json_is_422(api):
    response = api("POST", "catalog/products", "{not json")

    assert response.status_code == 422
    assert response.json()["errors"] == {"body": "The request body is not valid JSON."}


def test_method_not_allowed_is_405_in_the_envelope(api):
    response = api("POST", "catalog/products/1/variants", {"sku": "X"})

    assert response.status_code == 405
    assert response.json()["status"] == 405


# --- auth ----------------------------------------------------------------------------------


def test_wrong_token_is_401(api):
    response = api("GET", "catalog/products", token="not-the-token")

    assert response.status_code == 401
    assert response.json()["status"] == 401
    assert response.json()["title"] == "Unauthorized"


def test_missing_token_is_401(client, sandbox):
    store, credentials = sandbox

    response = client.get(
        f"/sandbox/{store.slug}/stores/{credentials['store_hash']}/v3/catalog/products"
    )

    assert response.status_code == 401


def test_wrong_store_hash_is_401_even_with_the_right_token(api, sandbox):
    store, _ = sandbox

    response = api("GET", "catalog/products", prefix=f"/sandbox/{store.slug}/stores/nothash/v3/")

    assert response.status_code == 401


def test_unknown_slug_is_404(api, sandbox):
    _, credentials = sandbox

    response = api(
        "GET", "catalog/products", prefix=f"/sandbox/nope/stores/{credentials['store_hash']}/v3/"
    )

    assert response.status_code == 404
    assert response.json()["status"] == 404


def test_a_woocommerce_sandbox_is_not_reachable_as_bigcommerce(client, db):
    woo, credentials = create_sandbox_store(slug="woo", flavor=Flavor.WOOCOMMERCE)

    response = client.get(
        f"/sandbox/woo/stores/{woo.key_id}/v3/catalog/products",
        headers={"X-Auth-Token": credentials["consumer_secret"]},
    )

    assert response.status_code == 404


# --- updates -------------------------------------------------------------------------------


def test_put_one_product_changes_fields_and_bumps_date_modified(api):
    created = create(api, product())
    SandboxObject.objects.filter(object_id=created["id"]).update(
        date_modified="2020-01-01T00:00:00+00:00"
    )

    response = api("PUT", f"catalog/products/{created['id']}", {"price": 15, "name": "Big mug"})

    assert response.status_code == 200
    data = response.json()["data"]
    assert data["price"] == 15
    assert data["name"] == "Big mug"
    assert data["weight"] == 1  # untouched fields stay
    assert data["date_modified"] > "2020-01-01T00:00:00+00:00"
    assert SandboxObject.objects.get(object_id=created["id"]).unique_name == "Big mug"


def test_put_renaming_to_an_existing_name_is_409(api):
    create(api, product("Mug", "MUG-1"))
    other = create(api, product("Cup", "CUP-1"))

    response = api("PUT", f"catalog/products/{other['id']}", {"name": "Mug"})

    assert response.status_code == 409
    assert response.json()["title"] == "The product name is a duplicate"


def test_put_keeping_its_own_name_and_sku_is_fine(api):
    created = create(api, product())

    response = api("PUT", f"catalog/products/{created['id']}", product())

    assert response.status_code == 200


def test_batch_put_updates_up_to_ten(api):
    ids = [create(api, product(f"Mug {n}", f"MUG-{n}"))["id"] for n in range(10)]

    response = api("PUT", "catalog/products", [{"id": i, "price": 99} for i in ids])

    assert response.status_code == 200
    assert [p["id"] for p in response.json()["data"]] == ids
    assert all(p["price"] == 99 for p in response.json()["data"])


def test_batch_put_of_eleven_is_413(api):
    response = api("PUT", "catalog/products", [{"id": n, "price": 1} for n in range(1, 12)])

    assert response.status_code == 413
    body = response.json()
    assert body["status"] == 413
    assert "maximum items allowed in the array is 10" in body["title"]


def test_batch_put_is_all_or_nothing(api):
    first = create(api, product("Mug", "MUG-1"))
    second = create(api, product("Cup", "CUP-1"))

    response = api(
        "PUT",
        "catalog/products",
        [{"id": first["id"], "price": 1}, {"id": second["id"], "price": -1}],
    )

    assert response.status_code == 422
    assert "1.price" in response.json()["errors"]
    assert api("GET", f"catalog/products/{first['id']}").json()["data"]["price"] == 12.5


def test_batch_put_needs_ids(api):
    response = api("PUT", "catalog/products", [{"price": 1}])

    assert response.status_code == 422
    assert "0.id" in response.json()["errors"]


def test_put_updates_variants_by_id_and_adds_new_ones(api):
    created = create(api, shirt())
    first = created["variants"][0]

    response = api(
        "PUT",
        f"catalog/products/{created['id']}",
        {
            "variants": [
                {"id": first["id"], "sku": first["sku"], "price": 25, "inventory_level": 10},
                {
                    "sku": "SH-L-Red",
                    "inventory_level": 1,
                    "option_values": [
                        {"option_display_name": "Size", "label": "L"},
                        {"option_display_name": "Colour", "label": "Red"},
                    ],
                },
            ]
        },
    )

    assert response.status_code == 200, response.content
    variants = {v["sku"]: v for v in response.json()["data"]["variants"]}
    assert variants["SH-S-Red"]["price"] == 25
    assert variants["SH-S-Red"]["id"] == first["id"]
    assert set(variants) == {"SH-S-Red", "SH-M-Red", "SH-S-Blue", "SH-L-Red"}
    assert response.json()["data"]["inventory_level"] == 10 + 2 + 3 + 1


def test_adding_options_to_a_simple_product_drops_its_base_variant(api):
    created = create(api, product())

    response = api(
        "PUT",
        f"catalog/products/{created['id']}",
        {
            "variants": [
                {
                    "sku": "MUG-1-BIG",
                    "option_values": [{"option_display_name": "Size", "label": "Big"}],
                }
            ]
        },
    )

    assert response.status_code == 200, response.content
    assert [v["sku"] for v in response.json()["data"]["variants"]] == ["MUG-1-BIG"]
    assert response.json()["data"]["base_variant_id"] is None
    assert SandboxObject.objects.filter(resource="variant", parent_id=created["id"]).count() == 1


def test_put_with_a_variant_of_another_product_is_422(api):
    mine = create(api, shirt())
    theirs = create(api, shirt("Other shirt", "OT"))

    response = api(
        "PUT",
        f"catalog/products/{mine['id']}",
        {"variants": [{"id": theirs["variants"][0]["id"], "price": 1}]},
    )

    assert response.status_code == 422
    assert "variants.0.id" in response.json()["errors"]


# --- deletes -------------------------------------------------------------------------------


def test_delete_by_id_in_removes_products_and_their_variants(api):
    keep = create(api, product("Keep", "K"))
    gone = [create(api, shirt(f"Shirt {n}", f"S{n}"))["id"] for n in range(2)]

    response = api("DELETE", "catalog/products", params={"id:in": ",".join(map(str, gone))})

    assert response.status_code == 204
    assert list(
        SandboxObject.objects.filter(resource="product").values_list("object_id", flat=True)
    ) == [keep["id"]]
    assert not SandboxObject.objects.filter(parent_id__in=gone).exists()


def test_delete_without_a_filter_is_refused(api):
    create(api, product())

    response = api("DELETE", "catalog/products")

    assert response.status_code == 422
    assert SandboxObject.objects.filter(resource="product").count() == 1


def test_delete_one_product(api):
    created = create(api, product())

    assert api("DELETE", f"catalog/products/{created['id']}").status_code == 204
    assert api("GET", f"catalog/products/{created['id']}").status_code == 404


# --- headers -------------------------------------------------------------------------------


def test_every_answer_carries_the_rate_limit_headers(api):
    created = create(api, product())
    answers = [
        api("GET", "catalog/products"),
        api("GET", f"catalog/products/{created['id']}"),
        api("GET", "catalog/products/424242"),
        api("POST", "catalog/products", {"name": "x"}),
        api("PUT", "catalog/products", [{"id": n} for n in range(11)]),
        api("DELETE", f"catalog/products/{created['id']}"),
        api("GET", "catalog/products", token="wrong"),
    ]

    assert [a.status_code for a in answers] == [200, 200, 404, 422, 413, 204, 401]
    for answer in answers:
        for header in RATE_HEADERS:
            assert header in answer.headers, (answer.status_code, header)
    # No quota configured: a large one is advertised, so clients never wait.
    assert int(answers[0].headers["X-Rate-Limit-Requests-Quota"]) >= 100_000
