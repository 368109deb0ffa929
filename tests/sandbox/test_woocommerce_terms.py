"""products/categories and products/brands in the WooCommerce sandbox, over HTTP."""

from __future__ import annotations

import pytest

from apps.sandbox.demo_catalog import seed_store
from apps.sandbox.models import SandboxObject
from tests.sandbox.test_woocommerce_api import Shop

pytestmark = pytest.mark.django_db

BASES = ["products/categories", "products/brands"]


@pytest.fixture
def shop() -> Shop:
    return Shop()


@pytest.mark.parametrize("base", BASES)
def test_create_answers_the_term_shape(shop, base):
    response = shop.post(
        base,
        {
            "name": "Home & Garden",
            "description": "<p>Outside</p>",
            "image": {"src": "https://img.example/h.jpg", "alt": "H"},
            "menu_order": 3,
        },
    )
    assert response.status_code == 201
    term = response.json()
    assert set(term) >= {
        "id", "name", "slug", "parent", "description", "display", "image", "menu_order", "count",
    }  # fmt: skip
    # WordPress stores and answers term names HTML-escaped.
    assert (term["name"], term["slug"], term["parent"]) == ("Home &amp; Garden", "home-garden", 0)
    assert (term["display"], term["menu_order"], term["count"]) == ("default", 3, 0)
    assert term["image"]["src"] == "https://img.example/h.jpg" and term["image"]["id"]
    assert shop.get(f"{base}/{term['id']}").json() == term
    resource = "category" if "categories" in base else "brand"
    row = SandboxObject.objects.get(store=shop.sandbox, resource=resource)
    assert (row.unique_name, row.parent_id) == ("home-garden", 0)


def test_same_name_under_one_parent_is_term_exists_with_the_holder(shop):
    first = shop.post("products/categories", {"name": "Sale"}).json()
    again = shop.post("products/categories", {"name": "sale"})
    assert again.status_code == 400
    assert again.json() == {
        "code": "term_exists",
        "message": "A term with the name provided already exists with this parent.",
        "data": {"status": 400, "resource_id": first["id"]},
    }
    shoes = shop.post("products/categories", {"name": "Shoes"}).json()
    # Another parent: allowed, and the slug is made unique with the parent's slug.
    other = shop.post("products/categories", {"name": "Sale", "parent": shoes["id"]}).json()
    assert (other["slug"], other["parent"]) == ("sale-shoes", shoes["id"])
    third = shop.post("products/categories", {"name": "Sale!", "slug": "sale"}).json()
    assert third["slug"] == "sale-2"


def test_missing_parent_name_and_race_are_refused(shop, monkeypatch):
    missing = shop.post("products/categories", {"name": "Orphan", "parent": 424242})
    assert (missing.status_code, missing.json()["code"]) == (404, "woocommerce_rest_term_invalid")
    nameless = shop.post("products/categories", {"description": "x"})
    assert nameless.json()["code"] == "rest_missing_callback_param"
    assert nameless.json()["data"]["params"] == ["name"]
    assert shop.post("products/categories", {"name": "  "}).json()["code"] == "empty_term_name"
    held = shop.post("products/brands", {"name": "Kestrel"}).json()
    # Another request took the slug between our checks and our insert: the unique column
    # still turns it into term_exists naming the holder, not a 500.
    from apps.sandbox.woocommerce.terms import TermStore

    monkeypatch.setattr(TermStore, "_tree", lambda self: {})
    raced = shop.post("products/brands", {"name": "Kestrel"})
    assert raced.status_code == 400
    assert raced.json()["data"]["resource_id"] == held["id"]


def test_update_refuses_a_taken_slug_and_loops(shop):
    parent = shop.post("products/categories", {"name": "Parent"}).json()
    child = shop.post("products/categories", {"name": "Child", "parent": parent["id"]}).json()
    taken = shop.call("PUT", f"products/categories/{child['id']}", {"slug": "parent"})
    assert taken.json()["code"] == "duplicate_term_slug"
    loop = shop.call("PUT", f"products/categories/{parent['id']}", {"parent": child["id"]})
    assert loop.json()["code"] == "rest_invalid_param"
    renamed = shop.call("PUT", f"products/categories/{child['id']}", {"name": "Kid"}).json()
    assert (renamed["name"], renamed["slug"]) == ("Kid", "child")  # WordPress keeps the slug


def test_delete_needs_force_moves_children_up_and_unlinks_products(shop):
    top = shop.post("products/categories", {"name": "Top"}).json()
    middle = shop.post("products/categories", {"name": "Middle", "parent": top["id"]}).json()
    leaf = shop.post("products/categories", {"name": "Leaf", "parent": middle["id"]}).json()
    product = shop.post(
        "products",
        {"name": "P", "sku": "P", "regular_price": "1", "categories": [{"id": middle["id"]}]},
    ).json()
    assert product["categories"] == [{"id": middle["id"], "name": "Middle", "slug": "middle"}]
    assert shop.get(f"products/categories/{middle['id']}").json()["count"] == 1
    unforced = shop.call("DELETE", f"products/categories/{middle['id']}")
    assert (unforced.status_code, unforced.json()["code"]) == (
        501,
        "woocommerce_rest_trash_not_supported",
    )
    gone = shop.call("DELETE", f"products/categories/{middle['id']}?force=true")
    assert gone.status_code == 200 and gone.json()["id"] == middle["id"]
    assert shop.get(f"products/categories/{leaf['id']}").json()["parent"] == top["id"]
    assert shop.get(f"products/{product['id']}").json()["categories"] == []


def test_products_name_terms_by_id_unknown_ids_dropped_counts_follow(shop):
    brand = shop.post("products/brands", {"name": "Ashgrove"}).json()
    made = shop.post(
        "products",
        {
            "name": "Boot",
            "sku": "B1",
            "regular_price": "5",
            "brands": [{"id": brand["id"]}, {"id": 999999}],
        },
    ).json()
    assert made["brands"] == [{"id": brand["id"], "name": "Ashgrove", "slug": "ashgrove"}]
    assert shop.get(f"products/brands/{brand['id']}").json()["count"] == 1
    shop.call("PUT", f"products/{made['id']}", {"status": "draft"})
    assert shop.get(f"products/brands/{brand['id']}").json()["count"] == 0
    renamed = shop.call("PUT", f"products/brands/{brand['id']}", {"name": "Ash & Grove"})
    assert renamed.json()["name"] == "Ash &amp; Grove"
    assert shop.get(f"products/{made['id']}").json()["brands"][0]["name"] == "Ash &amp; Grove"


def test_listing_defaults_filters_and_pagination(shop):
    seed_store(shop.sandbox, 40, categories=True, brands=True)
    first = shop.get("products/categories", per_page=5)
    assert (first["X-WP-Total"], first["X-WP-TotalPages"]) == ("12", "3")
    names = [c["name"] for c in shop.get("products/categories", per_page=100).json()]
    assert names == sorted(names, key=str.lower)  # WooCommerce's default: by name
    by_id = shop.get("products/categories", per_page=100, orderby="id", order="asc").json()
    assert [c["id"] for c in by_id] == sorted(c["id"] for c in by_id)
    top = shop.get("products/categories", parent=0, per_page=100).json()
    assert {c["name"] for c in top} == {"Clothing", "Footwear", "Bags", "Accessories", "Home"}
    [sale] = shop.get("products/categories", slug="sale-footwear").json()
    assert sale["name"] == "Sale"
    found = shop.get("products/categories", search="wear").json()
    # WordPress searches slugs too: "Sale" is sale-footwear.
    assert {c["slug"] for c in found} == {"outerwear", "footwear", "sale-footwear"}
    non_empty = shop.get("products/categories", hide_empty="true", per_page=100).json()
    assert non_empty and all(c["count"] > 0 for c in non_empty)
    assert shop.get("products/brands", per_page=100)["X-WP-Total"] == "8"
    refused = shop.get("products/categories", product=1)
    assert refused.json()["data"]["params"] == {
        "product": "product filters are not emulated by the sandbox."
    }
    # WooCommerce registers no modified_after on terms: WordPress ignores it.
    assert shop.get("products/brands", modified_after="2000-01-01T00:00:00")["X-WP-Total"] == "8"


@pytest.mark.parametrize("base", BASES)
def test_batch_has_per_item_errors_and_a_limit(shop, base):
    held = shop.post(base, {"name": "Held"}).json()
    body = shop.post(
        f"{base}/batch",
        {
            "create": [{"name": "New"}, {"name": "Held"}, {"name": "New"}],
            "update": [{"id": held["id"], "description": "d"}, {"id": 987654, "name": "?"}],
            "delete": [123456],
        },
    ).json()
    created = body["create"]
    assert created[0]["name"] == "New"
    assert created[1]["error"]["data"] == {"status": 400, "resource_id": held["id"]}
    assert created[2]["error"]["data"]["resource_id"] == created[0]["id"]
    assert body["update"][0]["description"] == "d"
    assert body["update"][1]["error"]["code"] == "woocommerce_rest_term_invalid"
    assert body["delete"][0]["error"]["data"]["status"] == 404
    too_many = shop.post(f"{base}/batch", {"create": [{"name": f"T{i}"} for i in range(101)]})
    assert too_many.status_code == 413


@pytest.mark.parametrize("base", BASES)
def test_terms_need_credentials(shop, base):
    assert shop.call("GET", base, headers={}).json()["code"] == "woocommerce_rest_cannot_view"
    wrong = shop.call("GET", base, headers=shop.auth(secret="cs_wrong"))
    assert wrong.status_code == 401
    assert shop.call("POST", f"{base}/batch", {}, headers={}).status_code == 401
