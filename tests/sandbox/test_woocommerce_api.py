"""The WooCommerce sandbox over HTTP: auth, listing, errors, writes and batches."""

from __future__ import annotations

import base64
import json
from datetime import timedelta

import pytest
from django.test import Client
from django.utils import timezone

from apps.sandbox.demo_catalog import seed_woocommerce
from apps.sandbox.models import Flavor, SandboxObject
from apps.sandbox.services import create_sandbox_store
from apps.sandbox.woocommerce.store import WooStore

pytestmark = pytest.mark.django_db


class Shop:
    """A WooCommerce sandbox and a client holding its consumer key and secret."""

    def __init__(self, slug: str = "shop") -> None:
        self.sandbox, self.credentials = create_sandbox_store(
            slug=slug, name=slug.title(), flavor=Flavor.WOOCOMMERCE
        )
        self.root = f"/sandbox/{slug}/wp-json/wc/v3/"
        self.client = Client()

    def auth(self, key: str | None = None, secret: str | None = None) -> dict[str, str]:
        key = key or self.credentials["consumer_key"]
        pair = f"{key}:{secret or self.credentials['consumer_secret']}"
        return {"Authorization": "Basic " + base64.b64encode(pair.encode()).decode()}

    def call(self, method: str, path: str, body=None, *, headers=None, raw: str | None = None):
        data = raw if raw is not None else (json.dumps(body) if body is not None else "")
        return self.client.generic(
            method,
            self.root + path,
            data=data,
            content_type="application/json",
            headers=self.auth() if headers is None else headers,
        )

    def get(self, path: str, **params):
        query = "&".join(f"{k}={v}" for k, v in params.items())
        return self.call("GET", f"{path}?{query}" if query else path)

    def post(self, path: str, body):
        return self.call("POST", path, body)


@pytest.fixture
def shop() -> Shop:
    return Shop()


def simple(sku: str, **extra):
    return {"name": f"Product {sku}", "sku": sku, "regular_price": "10.00", **extra}


# --- auth and routing ------------------------------------------------------------------------


def test_unknown_store_is_a_404_in_wordpress_shape(shop):
    response = shop.client.get("/sandbox/nowhere/wp-json/wc/v3/products", headers=shop.auth())
    assert response.status_code == 404
    assert response.json()["code"] == "rest_no_route"
    assert response.json()["data"] == {"status": 404}


def test_bigcommerce_sandbox_does_not_answer_the_woocommerce_api(shop):
    create_sandbox_store(slug="bc", name="BC", flavor=Flavor.BIGCOMMERCE)
    response = shop.client.get("/sandbox/bc/wp-json/wc/v3/products", headers=shop.auth())
    assert response.status_code == 404


def test_missing_credentials_are_refused_with_the_action_code(shop):
    listing = shop.call("GET", "products", headers={})
    assert listing.status_code == 401
    assert listing.json() == {
        "code": "woocommerce_rest_cannot_view",
        "message": "Sorry, you cannot list resources.",
        "data": {"status": 401},
    }
    create = shop.call("POST", "products", simple("A"), headers={})
    assert create.json()["code"] == "woocommerce_rest_cannot_create"
    batch = shop.call("POST", "products/batch", {"create": [simple("A")]}, headers={})
    assert batch.json()["code"] == "woocommerce_rest_cannot_batch"
    assert not SandboxObject.objects.exists()


def test_wrong_key_or_secret_is_an_authentication_error(shop):
    wrong_key = shop.call("GET", "products", headers=shop.auth(key="ck_wrong"))
    assert wrong_key.status_code == 401
    assert wrong_key.json()["code"] == "woocommerce_rest_authentication_error"
    assert wrong_key.json()["message"] == "Consumer key is invalid."
    wrong_secret = shop.call("GET", "products", headers=shop.auth(secret="cs_wrong"))
    assert wrong_secret.status_code == 401
    assert wrong_secret.json()["message"] == "Consumer secret is invalid."
    assert shop.credentials["consumer_secret"] not in wrong_secret.content.decode()


def test_unknown_route_and_method_are_rest_no_route(shop):
    assert shop.get("coupons").json()["code"] == "rest_no_route"
    assert shop.call("DELETE", "products").status_code == 404


# --- single writes and shapes ----------------------------------------------------------------


def test_create_simple_product_answers_the_woocommerce_shape(shop):
    response = shop.post("products", simple("TEE-1", sale_price="8.00", weight="0.2"))
    assert response.status_code == 201
    product = response.json()
    assert product["sku"] == "TEE-1"
    assert product["type"] == "simple"
    assert product["status"] == "publish"
    assert (product["regular_price"], product["sale_price"], product["price"]) == (
        "10.00",
        "8.00",
        "8.00",
    )
    assert product["on_sale"] is True
    assert product["slug"] == "product-tee-1"
    assert product["permalink"].endswith("/sandbox/shop/product/product-tee-1/")
    assert product["variations"] == []
    for key in ("date_created", "date_created_gmt", "date_modified", "date_modified_gmt"):
        assert len(product[key]) == 19 and product[key][10] == "T"
    row = SandboxObject.objects.get(object_id=product["id"])
    assert (row.resource, row.sku, row.name) == ("product", "TEE-1", "Product TEE-1")
    assert shop.get(f"products/{product['id']}").json() == product


def test_same_name_gets_a_distinct_slug(shop):
    first = shop.post("products", {"name": "Wool Scarf", "sku": "S1"}).json()
    second = shop.post("products", {"name": "Wool Scarf", "sku": "S2"}).json()
    assert (first["slug"], second["slug"]) == ("wool-scarf", "wool-scarf-2")


def test_variable_product_is_derived_from_its_variations(shop):
    parent = shop.post(
        "products",
        {
            "name": "Hoodie",
            "type": "variable",
            "sku": "HOD",
            "regular_price": "99.00",  # ignored, as WooCommerce ignores it on variable products
            "attributes": [{"name": "Size", "variation": True, "options": ["S", "M"]}],
        },
    ).json()
    assert parent["price"] == "" and parent["regular_price"] == ""
    answer = shop.post(
        f"products/{parent['id']}/variations/batch",
        {
            "create": [
                {
                    "sku": "HOD-S",
                    "regular_price": "40.00",
                    "attributes": [{"name": "Size", "option": "S"}],
                },
                {
                    "sku": "HOD-M",
                    "regular_price": "42.00",
                    "sale_price": "35.00",
                    "manage_stock": True,
                    "stock_quantity": 0,
                    "attributes": [{"name": "Size", "option": "M"}],
                },
            ]
        },
    )
    assert answer.status_code == 200
    small, medium = answer.json()["create"]
    assert small["parent_id"] == parent["id"] and small["attributes"][0]["option"] == "S"
    assert medium["price"] == "35.00" and medium["stock_status"] == "outofstock"
    assert medium["permalink"].endswith("/product/hoodie/?attribute_size=m")
    refreshed = shop.get(f"products/{parent['id']}").json()
    assert refreshed["variations"] == [small["id"], medium["id"]]
    assert refreshed["price"] == "35.00"
    assert refreshed["on_sale"] is True
    assert refreshed["date_modified"] >= parent["date_modified"]
    listed = shop.get(f"products/{parent['id']}/variations", orderby="id", order="asc").json()
    assert [v["sku"] for v in listed] == ["HOD-S", "HOD-M"]
    assert shop.get(f"products/{parent['id']}/variations/{small['id']}").json() == small


def test_update_changes_only_given_fields_and_bumps_date_modified(shop):
    product = shop.post("products", simple("UPD", description="old")).json()
    row = SandboxObject.objects.get(object_id=product["id"])
    past = timezone.now() - timedelta(days=1)
    SandboxObject.objects.filter(pk=row.pk).update(date_modified=past, date_created=past)
    updated = shop.call("PUT", f"products/{product['id']}", {"name": "Renamed"}).json()
    assert updated["name"] == "Renamed"
    assert updated["description"] == "old"
    assert updated["slug"] == product["slug"]  # WordPress keeps the slug on rename
    row.refresh_from_db()
    assert row.name == "Renamed" and row.date_modified > past


def test_delete_variable_product_removes_its_variations(shop):
    parent = shop.post("products", {"name": "Cap", "type": "variable", "sku": "CAP"}).json()
    shop.post(f"products/{parent['id']}/variations", {"sku": "CAP-1", "regular_price": "5"})
    deleted = shop.call("DELETE", f"products/{parent['id']}?force=true")
    assert deleted.status_code == 200
    assert deleted.json()["id"] == parent["id"]
    assert not SandboxObject.objects.filter(store=shop.sandbox).exists()
    assert shop.get(f"products/{parent['id']}").json()["code"] == (
        "woocommerce_rest_product_invalid_id"
    )


def test_variation_of_another_product_is_not_found(shop):
    one = shop.post("products", {"name": "One", "type": "variable"}).json()
    two = shop.post("products", {"name": "Two", "type": "variable"}).json()
    variation = shop.post(f"products/{one['id']}/variations", {"regular_price": "1"}).json()
    response = shop.get(f"products/{two['id']}/variations/{variation['id']}")
    assert response.status_code == 404
    assert response.json()["code"] == "woocommerce_rest_product_variation_invalid_id"
    assert shop.get("products/999999/variations").status_code == 404


# --- input errors ----------------------------------------------------------------------------


def test_invalid_json_body_is_rest_invalid_json(shop):
    response = shop.call("POST", "products", raw="{not json")
    assert response.status_code == 400
    assert response.json()["code"] == "rest_invalid_json"
    assert response.json()["message"] == "Invalid JSON body passed."


def test_wrong_field_types_are_reported_together(shop):
    response = shop.post(
        "products",
        {"name": "X", "regular_price": 12.5, "stock_quantity": "many", "status": "live"},
    )
    assert response.status_code == 400
    body = response.json()
    assert body["code"] == "rest_invalid_param"
    assert body["data"]["params"] == {
        "regular_price": "regular_price is not of type string.",
        "stock_quantity": "stock_quantity is not of type integer,null.",
        "status": "status is not one of draft, pending, private, publish, future.",
    }
    assert not SandboxObject.objects.exists()


def test_integer_fields_accept_numeric_strings_like_wordpress(shop):
    product = shop.post("products", simple("NUM", manage_stock="true", stock_quantity="7")).json()
    assert (product["manage_stock"], product["stock_quantity"]) == (True, 7)


def test_duplicate_sku_is_refused_across_products_and_variations(shop):
    first = shop.post("products", simple("DUP")).json()
    again = shop.post("products", simple("DUP"))
    assert again.status_code == 400
    assert again.json() == {
        "code": "product_invalid_sku",
        "message": "Invalid or duplicated SKU.",
        "data": {"status": 400, "resource_id": first["id"]},
    }
    parent = shop.post("products", {"name": "V", "type": "variable"}).json()
    variation = shop.post(f"products/{parent['id']}/variations", {"sku": "DUP"})
    assert variation.json()["code"] == "product_invalid_sku"
    taken = shop.post(f"products/{parent['id']}/variations", {"sku": "VAR-1"}).json()
    clash = shop.call("PUT", f"products/{first['id']}", {"sku": "VAR-1"})
    assert clash.json()["data"]["resource_id"] == taken["id"]
    assert shop.call("PUT", f"products/{first['id']}", {"sku": "DUP"}).status_code == 200


# --- batches ---------------------------------------------------------------------------------


def test_batch_reports_item_errors_while_other_items_succeed(shop):
    existing = shop.post("products", simple("HELD")).json()
    response = shop.post(
        "products/batch",
        {
            "create": [simple("NEW-1"), simple("HELD"), simple("NEW-2"), simple("NEW-1")],
            "update": [
                {"id": existing["id"], "name": "Held, renamed"},
                {"id": 987654, "name": "?"},
            ],
            "delete": [123456],
        },
    )
    assert response.status_code == 200
    body = response.json()
    created = body["create"]
    assert [c.get("sku") for c in created] == ["NEW-1", None, "NEW-2", None]
    assert created[1] == {
        "id": 0,
        "error": {
            "code": "product_invalid_sku",
            "message": "Invalid or duplicated SKU.",
            "data": {"status": 400, "resource_id": existing["id"]},
        },
    }
    assert created[3]["error"]["data"]["resource_id"] == created[0]["id"]
    assert body["update"][0]["name"] == "Held, renamed"
    assert body["update"][1]["id"] == 987654
    assert body["update"][1]["error"]["code"] == "woocommerce_rest_product_invalid_id"
    assert body["delete"][0]["error"]["data"]["status"] == 404
    skus = set(SandboxObject.objects.values_list("sku", flat=True))
    assert skus == {"HELD", "NEW-1", "NEW-2"}


def test_database_constraint_catches_a_sku_race(shop, monkeypatch):
    # Another request took the SKU between our check and our insert: the unique constraint
    # must still turn it into a per-item error, not a 500 or a lost batch.
    held = shop.post("products", simple("RACE")).json()
    monkeypatch.setattr(WooStore, "_sku_holders", lambda self, skus: {})
    body = shop.post("products/batch", {"create": [simple("OK-1"), simple("RACE")]}).json()
    assert body["create"][0]["sku"] == "OK-1"
    assert body["create"][1]["error"]["code"] == "product_invalid_sku"
    monkeypatch.undo()
    assert body["create"][1]["error"]["data"]["resource_id"] == held["id"]
    assert SandboxObject.objects.filter(sku="OK-1").count() == 1


def test_batch_over_100_items_is_413_and_writes_nothing(shop):
    response = shop.post(
        "products/batch",
        {"create": [simple(f"B{i}") for i in range(60)], "delete": list(range(1, 42))},
    )
    assert response.status_code == 413
    assert response.json()["code"] == "woocommerce_rest_request_entity_too_large"
    assert response.json()["message"] == "Unable to accept more than 100 items for this request."
    assert not SandboxObject.objects.exists()


def test_batch_of_exactly_100_is_accepted(shop):
    response = shop.post("products/batch", {"create": [simple(f"C{i}") for i in range(100)]})
    assert response.status_code == 200
    assert SandboxObject.objects.filter(store=shop.sandbox).count() == 100


def test_batch_parts_must_be_arrays(shop):
    response = shop.post("products/batch", {"create": {"name": "x"}})
    assert response.status_code == 400
    assert response.json()["data"]["params"] == {"create": "create is not of type array."}


# --- listing ---------------------------------------------------------------------------------


@pytest.fixture
def seeded(shop) -> Shop:
    seed_woocommerce(shop.sandbox, 25, now=timezone.now() - timedelta(hours=1))
    return shop


def test_pagination_headers_and_boundaries(seeded):
    first = seeded.get("products", per_page=10, orderby="id", order="asc")
    assert first["X-WP-Total"] == "25"
    assert first["X-WP-TotalPages"] == "3"
    assert 'rel="next"' in first["Link"] and 'rel="prev"' not in first["Link"]
    pages = [
        seeded.get("products", per_page=10, page=n, orderby="id", order="asc").json()
        for n in (1, 2, 3)
    ]
    assert [len(p) for p in pages] == [10, 10, 5]
    ids = [p["id"] for page in pages for p in page]
    assert ids == sorted(ids) and len(set(ids)) == 25
    beyond = seeded.get("products", per_page=10, page=4)
    assert beyond.status_code == 200 and beyond.json() == []
    assert beyond["X-WP-Total"] == "25"


def test_default_order_is_newest_first_with_ties_broken_by_id(seeded):
    # Seeded products share one timestamp: the order must still be total and stable.
    ids = [p["id"] for p in seeded.get("products", per_page=100).json()]
    assert ids == sorted(ids, reverse=True)
    titles = [
        p["name"] for p in seeded.get("products", per_page=100, orderby="title", order="asc").json()
    ]
    assert titles == sorted(titles, key=str.lower)


@pytest.mark.parametrize(
    ("params", "param"),
    [
        ({"per_page": 101}, "per_page"),
        ({"per_page": 0}, "per_page"),
        ({"page": 0}, "page"),
        ({"page": "x"}, "page"),
        ({"orderby": "price"}, "orderby"),
        ({"order": "up"}, "order"),
        ({"modified_after": "yesterday"}, "modified_after"),
        ({"status": "draft"}, "status"),
    ],
)
def test_invalid_list_parameters_are_rest_invalid_param(shop, params, param):
    response = shop.get("products", **params)
    assert response.status_code == 400
    body = response.json()
    assert body["code"] == "rest_invalid_param"
    assert list(body["data"]["params"]) == [param]


def test_per_page_above_100_names_the_bounds(shop):
    body = shop.get("products", per_page=101).json()
    assert body["data"]["params"]["per_page"] == (
        "per_page must be between 1 (inclusive) and 100 (inclusive)"
    )


def test_modified_after_and_before_select_by_last_change(seeded):
    ids = [p["id"] for p in seeded.get("products", per_page=100, orderby="id", order="asc").json()]
    seeded.call("PUT", f"products/{ids[3]}", {"description": "changed"})
    cutoff = (timezone.now() - timedelta(minutes=30)).strftime("%Y-%m-%dT%H:%M:%S")
    recent = seeded.get("products", modified_after=cutoff, dates_are_gmt="true")
    assert [p["id"] for p in recent.json()] == [ids[3]]
    assert recent["X-WP-Total"] == "1"
    older = seeded.get("products", modified_before=cutoff, per_page=100)
    assert older["X-WP-Total"] == "24"
    with_offset = seeded.get("products", modified_after=cutoff.replace("T", "T") + "%2B00:00")
    assert [p["id"] for p in with_offset.json()] == [ids[3]]


def test_sku_include_and_search_filters(seeded):
    products = seeded.get("products", per_page=100, orderby="id", order="asc").json()
    one, two = products[0], products[1]
    by_sku = seeded.get("products", sku=f"{one['sku']},{two['sku']}").json()
    assert {p["id"] for p in by_sku} == {one["id"], two["id"]}
    variable = next(p for p in products if p["variations"])
    variation_sku = seeded.get(f"products/{variable['id']}/variations").json()[0]["sku"]
    # As wc/v3 does, a SKU query finds variations too.
    [hit] = seeded.get("products", sku=variation_sku).json()
    assert (hit["type"], hit["parent_id"]) == ("variation", variable["id"])
    included = seeded.get("products", include=f"{two['id']},{one['id']}", orderby="include")
    assert [p["id"] for p in included.json()] == [two["id"], one["id"]]
    word = one["name"].split()[-1]
    found = seeded.get("products", search=word.lower(), per_page=100).json()
    assert one["id"] in {p["id"] for p in found}
    assert all(word.lower() in p["name"].lower() for p in found)


def test_listing_100_products_takes_a_fixed_number_of_queries(shop, django_assert_max_num_queries):
    seed_woocommerce(shop.sandbox, 100)
    # The fault middleware's store, the view's store, count, page: not one per product.
    with django_assert_max_num_queries(4):
        response = shop.get("products", per_page=100)
    products = response.json()
    assert len(products) == 100
    assert any(p["variations"] for p in products)
