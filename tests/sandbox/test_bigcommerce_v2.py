"""The BigCommerce sandbox's v2 APIs: orders and blog posts. Bare JSON arrays, 204 when a list
is empty, errors as [{status, message}], RFC 2822 dates, money as four-decimal strings."""

from __future__ import annotations

from typing import Any

import pytest

from apps.sandbox.models import Flavor, SandboxObject
from tests.sandbox.test_bigcommerce_api import RATE_HEADERS, Api, create_sandbox_store, product


@pytest.fixture
def api(client, db) -> Api:
    store, credentials = create_sandbox_store(slug="bc-orders", flavor=Flavor.BIGCOMMERCE)
    return Api(client, store.slug, credentials["store_hash"], credentials["access_token"])


BILLING = {
    "first_name": "Ann",
    "last_name": "Lee",
    "street_1": "1 Main St",
    "city": "Austin",
    "state": "Texas",
    "zip": "78701",
    "country_iso2": "US",
    "email": "ann@example.com",
}


def order(**fields: Any) -> dict[str, Any]:
    return {
        "billing_address": BILLING,
        "products": [{"name": "Poster", "quantity": 2, "price_ex_tax": 10, "price_inc_tax": 11}],
        **fields,
    }


def create(api: Api, body: dict[str, Any]) -> dict[str, Any]:
    response = api.v2("POST", "orders", body)
    assert response.status_code == 200, response.content
    return response.json()


# --- orders --------------------------------------------------------------------------------


def test_empty_order_list_is_204_with_no_body(api):
    response = api.v2("GET", "orders")

    assert response.status_code == 204
    assert response.content == b""
    for header in RATE_HEADERS:
        assert header in response.headers


def test_create_an_order_with_a_custom_product_and_read_it_back(api):
    created = create(
        api,
        order(
            external_order_id="WOO-1001",
            external_source="M-MIG",
            status_id=11,
            staff_notes="gift",
            customer_message="ring twice",
            date_created="Tue, 20 Nov 2012 00:00:00 +0000",
            shipping_addresses=[{**BILLING, "first_name": "Bob"}],
        ),
    )

    assert created["status_id"] == 11
    assert created["status"] == "Awaiting Fulfillment"
    assert created["external_order_id"] == "WOO-1001"
    assert created["date_created"] == "Tue, 20 Nov 2012 00:00:00 +0000"
    assert created["subtotal_ex_tax"] == "20.0000"
    assert created["total_inc_tax"] == "22.0000"
    assert created["total_tax"] == "2.0000"
    assert created["customer_id"] == 0
    assert created["billing_address"]["country"] == "United States"
    assert created["products"]["resource"] == f"/orders/{created['id']}/products"
    listed = api.v2("GET", "orders").json()
    assert isinstance(listed, list)
    assert [o["id"] for o in listed] == [created["id"]]
    [line] = api.v2("GET", f"orders/{created['id']}/products").json()
    assert line["name"] == "Poster"
    assert line["product_id"] == 0
    assert line["price_ex_tax"] == "10.0000"
    assert line["total_inc_tax"] == "22.0000"
    [shipping] = api.v2("GET", f"orders/{created['id']}/shipping_addresses").json()
    assert shipping["first_name"] == "Bob"
    assert line["order_address_id"] == shipping["id"]


def test_a_catalog_product_line_takes_the_products_name_and_price(api):
    made = api("POST", "catalog/products", product("Mug", "MUG-1")).json()["data"]

    created = create(api, order(products=[{"product_id": made["id"], "quantity": 1}]))

    [line] = api.v2("GET", f"orders/{created['id']}/products").json()
    assert (line["name"], line["sku"], line["price_ex_tax"]) == ("Mug", "MUG-1", "12.5000")


def test_money_values_set_by_the_client_are_kept(api):
    created = create(
        api,
        order(
            shipping_cost_ex_tax="5.00",
            shipping_cost_inc_tax="5.00",
            total_ex_tax="23.00",
            total_inc_tax="25.50",
            discount_amount=2,
        ),
    )

    assert created["shipping_cost_inc_tax"] == "5.0000"
    assert created["total_inc_tax"] == "25.5000"
    assert created["total_tax"] == "2.5000"
    assert created["discount_amount"] == "2.0000"


def test_v2_errors_are_a_bare_array(api):
    response = api.v2("POST", "orders", {"products": [{"quantity": 1}]})

    assert response.status_code == 400
    body = response.json()
    assert isinstance(body, list)
    messages = " ".join(entry["message"] for entry in body)
    assert all(entry["status"] == 400 for entry in body)
    assert "billing_address" in messages
    assert "products.0.name" in messages


def test_unknown_product_or_customer_is_400(api):
    response = api.v2(
        "POST", "orders", order(customer_id=999, products=[{"product_id": 555, "quantity": 1}])
    )

    assert response.status_code == 400
    messages = " ".join(entry["message"] for entry in response.json())
    assert "Customer 999" in messages and "Product 555" in messages


def test_unknown_order_is_404_array(api):
    response = api.v2("GET", "orders/424242")

    assert response.status_code == 404
    assert response.json() == [{"status": 404, "message": "The requested resource was not found."}]


def test_wrong_token_on_v2_is_401_array(api):
    response = api.v2("GET", "orders", token="nope")

    assert response.status_code == 401
    assert response.json()[0]["status"] == 401


def test_paging_and_a_page_past_the_end_is_204(api):
    ids = [create(api, order())["id"] for _ in range(3)]

    first = api.v2("GET", "orders", params={"limit": 2, "page": 1}).json()
    second = api.v2("GET", "orders", params={"limit": 2, "page": 2}).json()
    past = api.v2("GET", "orders", params={"limit": 2, "page": 3})

    assert [o["id"] for o in first + second] == ids
    assert past.status_code == 204
    assert past.content == b""


def test_filters_min_date_modified_in_both_formats_ids_status_and_reference(api):
    early = create(api, order(external_order_id="A", status_id=10))
    late = create(api, order(external_order_id="B"))
    SandboxObject.objects.filter(resource="order", object_id=early["id"]).update(
        date_modified="2024-01-01T10:00:00+00:00"
    )
    SandboxObject.objects.filter(resource="order", object_id=late["id"]).update(
        date_modified="2024-03-01T10:00:00+00:00"
    )

    def ids(**params: Any) -> list[int]:
        response = api.v2("GET", "orders", params=params)
        return [] if response.status_code == 204 else [o["id"] for o in response.json()]

    assert ids(min_date_modified="Thu, 01 Feb 2024 00:00:00 +0000") == [late["id"]]
    assert ids(min_date_modified="2024-02-01T00:00:00+00:00") == [late["id"]]
    assert ids(max_date_modified="2024-01-01T10:00:00Z") == [early["id"]]
    assert ids(min_id=late["id"]) == [late["id"]]
    assert ids(max_id=early["id"]) == [early["id"]]
    assert ids(status_id=10) == [early["id"]]
    assert ids(external_order_id="B") == [late["id"]]
    assert ids(sort="id:desc") == [late["id"], early["id"]]
    bad = api.v2("GET", "orders", params={"min_date_modified": "yesterday"})
    assert bad.status_code == 400
    assert "min_date_modified" in bad.json()[0]["message"]


def test_limit_is_capped_at_250(api):
    for _ in range(3):
        create(api, order())

    assert len(api.v2("GET", "orders", params={"limit": 5000}).json()) == 3


def test_count(api):
    create(api, order(status_id=10))
    create(api, order(status_id=10))
    create(api, order(status_id=11))

    body = api.v2("GET", "orders/count").json()

    assert body["count"] == 3
    by_id = {s["id"]: s["count"] for s in body["statuses"]}
    assert by_id[10] == 2 and by_id[11] == 1
    assert api.v2("GET", "orders/count", params={"status_id": 11}).json()["count"] == 1


def test_put_changes_fields_and_lines(api):
    created = create(api, order())
    [line] = api.v2("GET", f"orders/{created['id']}/products").json()

    response = api.v2(
        "PUT",
        f"orders/{created['id']}",
        {
            "status_id": 5,
            "external_order_id": "X-9",
            "products": [
                {"id": line["id"], "quantity": 0},
                {"name": "Mug", "quantity": 1, "price_ex_tax": 3, "price_inc_tax": 3},
            ],
        },
    )

    assert response.status_code == 200, response.content
    assert response.json()["status"] == "Cancelled"
    assert response.json()["external_order_id"] == "X-9"
    lines = api.v2("GET", f"orders/{created['id']}/products").json()
    assert [(li["name"], li["quantity"]) for li in lines] == [("Mug", 1)]
    assert response.json()["subtotal_ex_tax"] == "3.0000"


def test_delete_archives_the_order(api):
    created = create(api, order())

    assert api.v2("DELETE", f"orders/{created['id']}").status_code == 204

    assert api.v2("GET", "orders").status_code == 204
    assert api.v2("GET", "orders/count").json()["count"] == 0
    archived = api.v2("GET", "orders", params={"is_deleted": "true"}).json()
    assert archived[0]["is_deleted"] is True


def test_order_statuses(api):
    statuses = api.v2("GET", "order_statuses").json()

    assert [s["id"] for s in statuses] == list(range(15))
    assert statuses[11]["name"] == "Awaiting Fulfillment"


# --- blog posts ----------------------------------------------------------------------------


def post(title: str = "Hello", **fields: Any) -> dict[str, Any]:
    return {"title": title, "body": "<p>Hi</p>", **fields}


def test_empty_blog_is_204(api):
    response = api.v2("GET", "blog/posts")

    assert response.status_code == 204
    assert response.content == b""


def test_create_a_post_and_read_it_back(api):
    response = api.v2(
        "POST",
        "blog/posts",
        post(
            tags=["news", "tea"],
            is_published=True,
            published_date="Wed, 01 May 2024 10:00:00 +0000",
            author="Ann",
            thumbnail_path="https://img/t.jpg",
        ),
    )

    assert response.status_code == 200, response.content
    created = response.json()
    assert created["url"] == "/blog/hello/"
    assert created["published_date"] == {
        "date": "2024-05-01 10:00:00.000000",
        "timezone_type": 1,
        "timezone": "+00:00",
    }
    assert created["published_date_iso8601"] == "2024-05-01T10:00:00+0000"
    fetched = api.v2("GET", f"blog/posts/{created['id']}").json()
    assert fetched["tags"] == ["news", "tea"]
    assert fetched["author"] == "Ann"


def test_posts_default_to_drafts(api):
    created = api.v2("POST", "blog/posts", post()).json()

    assert created["is_published"] is False


def test_filters_by_url_and_is_published_newest_first(api):
    api.v2("POST", "blog/posts", post("Old", published_date="Mon, 01 Jan 2024 00:00:00 +0000"))
    api.v2(
        "POST",
        "blog/posts",
        post("New", is_published=True, published_date="Fri, 01 Mar 2024 00:00:00 +0000"),
    )

    assert [p["title"] for p in api.v2("GET", "blog/posts").json()] == ["New", "Old"]
    by_url = api.v2("GET", "blog/posts", params={"url": "/blog/old/"}).json()
    assert [p["title"] for p in by_url] == ["Old"]
    published = api.v2("GET", "blog/posts", params={"is_published": "true"}).json()
    assert [p["title"] for p in published] == ["New"]
    assert api.v2("GET", "blog/posts", params={"url": "/blog/none/"}).status_code == 204
    assert api.v2("GET", "blog/posts/count").json() == {"count": 2}


def test_duplicate_url_is_409_and_missing_body_is_400(api):
    api.v2("POST", "blog/posts", post(url="/blog/same/"))

    clash = api.v2("POST", "blog/posts", post("Other", url="/blog/same/"))
    missing = api.v2("POST", "blog/posts", {"title": "No body"})

    assert clash.status_code == 409
    assert clash.json()[0]["status"] == 409
    assert missing.status_code == 400
    assert "body" in missing.json()[0]["message"]


def test_put_and_delete_a_post(api):
    created = api.v2("POST", "blog/posts", post()).json()

    changed = api.v2(
        "PUT", f"blog/posts/{created['id']}", {"title": "Changed", "is_published": True}
    )

    assert changed.json()["title"] == "Changed"
    assert changed.json()["is_published"] is True
    assert api.v2("DELETE", f"blog/posts/{created['id']}").status_code == 204
    assert api.v2("GET", f"blog/posts/{created['id']}").status_code == 404


def test_put_adding_a_custom_line_needs_its_name_and_prices(api):
    created = create(api, order())

    response = api.v2("PUT", f"orders/{created['id']}", {"products": [{"quantity": 1}]})

    assert response.status_code == 400
    messages = " ".join(entry["message"] for entry in response.json())
    assert "products.0.name" in messages and "products.0.price_ex_tax" in messages
