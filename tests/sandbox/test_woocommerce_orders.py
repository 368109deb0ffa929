"""wc/v3 orders in the WooCommerce sandbox, over HTTP."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from apps.sandbox.demo_catalog import seed_store
from apps.sandbox.models import SandboxObject
from tests.sandbox.test_woocommerce_api import Shop

pytestmark = pytest.mark.django_db


@pytest.fixture
def shop() -> Shop:
    shop = Shop()
    shop.post("products", {"name": "Mug", "sku": "MUG", "regular_price": "12.00"})
    parent = shop.post("products", {"name": "Tee", "type": "variable", "sku": "TEE"}).json()
    shop.post(
        f"products/{parent['id']}/variations",
        {"sku": "TEE-M", "regular_price": "20.00", "attributes": [{"name": "Size", "option": "M"}]},
    )
    shop.tee = parent["id"]
    shop.customer = shop.post("customers", {"email": "ada@example.com", "first_name": "Ada"}).json()
    return shop


def order(**extra):
    return {
        "status": "processing",
        "billing": {"first_name": "Ada", "last_name": "L", "email": "ada@example.com"},
        "line_items": [{"sku": "MUG", "quantity": 2}, {"sku": "TEE-M", "quantity": 1}],
        "shipping_lines": [{"method_id": "flat_rate", "method_title": "Flat", "total": "5.00"}],
        **extra,
    }


def test_create_links_lines_and_derives_totals(shop):
    response = shop.post("orders", order(customer_id=shop.customer["id"]))
    assert response.status_code == 201
    made = response.json()
    assert made["number"] == str(made["id"]) and made["order_key"].startswith("wc_order_")
    mug, tee = made["line_items"]
    assert (mug["name"], mug["sku"], mug["variation_id"], mug["price"]) == ("Mug", "MUG", 0, 12)
    assert (mug["subtotal"], mug["total"]) == ("24.00", "24.00")
    assert (tee["product_id"], tee["sku"], tee["name"]) == (shop.tee, "TEE-M", "Tee")
    assert tee["variation_id"] and tee["parent_name"] == "Tee"
    assert (made["shipping_total"], made["total"]) == ("5.00", "49.00")
    assert made["date_paid"] is not None  # processing is a paid status
    customer = shop.get(f"customers/{shop.customer['id']}").json()
    assert customer["is_paying_customer"] is True
    row = SandboxObject.objects.get(resource="order")
    assert row.parent_id == shop.customer["id"]


def test_given_totals_discount_tax_and_unlinked_lines(shop):
    made = shop.post(
        "orders",
        order(
            line_items=[
                {
                    "sku": "MUG",
                    "quantity": 2,
                    "subtotal": "24.00",
                    "total": "21.60",
                    "total_tax": "1.73",
                },
                {"name": "Old gift card", "product_id": 0, "quantity": 1, "total": "25.00"},
                {"product_id": 999999, "name": "Deleted thing", "quantity": 1, "total": "3.00"},
            ],
            date_created_gmt="2024-03-01T09:30:00",
        ),
    ).json()
    mug, card, deleted = made["line_items"]
    assert mug["price"] == 10.8
    assert (card["product_id"], card["sku"], card["name"]) == (0, None, "Old gift card")
    assert (deleted["product_id"], deleted["sku"]) == (0, None)
    assert made["discount_total"] == "2.40" and made["total_tax"] == "1.73"
    assert made["total"] == str(Decimal("21.60") + 25 + 3 + 5 + Decimal("1.73"))
    assert made["date_created_gmt"] == "2024-03-01T09:30:00"


def test_invalid_customer_quantity_and_status_are_refused(shop):
    assert shop.post("orders", order(customer_id=424242)).json()["code"] == (
        "woocommerce_rest_invalid_customer_id"
    )
    bad_qty = order(line_items=[{"sku": "MUG", "quantity": 0}])
    assert shop.post("orders", bad_qty).json()["code"] == (
        "woocommerce_rest_invalid_product_quantity"
    )
    assert shop.post("orders", order(status="shipped")).json()["code"] == "rest_invalid_param"


def test_update_lines_status_and_meta(shop):
    made = shop.post("orders", order(status="pending")).json()
    mug, tee = made["line_items"]
    updated = shop.call(
        "PUT",
        f"orders/{made['id']}",
        {
            "status": "completed",
            "line_items": [
                {"id": mug["id"], "quantity": 3},
                {"id": tee["id"], "product_id": None},
                {"sku": "TEE-M", "quantity": 2},
            ],
            "meta_data": [{"key": "_migrator_reference", "value": "A-1"}],
        },
    ).json()
    assert [(li["sku"], li["quantity"]) for li in updated["line_items"]] == [
        ("MUG", 3),
        ("TEE-M", 2),
    ]
    assert updated["status"] == "completed" and updated["date_completed"] is not None
    assert updated["meta_data"] == [{"id": 1, "key": "_migrator_reference", "value": "A-1"}]


def test_delete_trashes_unless_forced(shop):
    made = shop.post("orders", order()).json()
    trashed = shop.call("DELETE", f"orders/{made['id']}").json()
    assert trashed["status"] == "trash"
    assert shop.get("orders")["X-WP-Total"] == "0"  # "any" leaves trash out
    assert shop.get("orders", status="trash")["X-WP-Total"] == "1"
    assert shop.call("DELETE", f"orders/{made['id']}").status_code == 410
    assert shop.call("DELETE", f"orders/{made['id']}?force=true").json()["id"] == made["id"]
    gone = shop.get(f"orders/{made['id']}")
    assert gone.json()["code"] == "woocommerce_rest_shop_order_invalid_id"


def test_listing_filters_modified_window_status_customer_and_search(shop):
    seed_store(shop.sandbox, 20, customers=10, orders=40, now=timezone.now() - timedelta(days=2))
    everything = shop.get("orders", per_page=100, orderby="id", order="asc").json()
    assert len(everything) == 40
    page = shop.get("orders", per_page=15, page=3)
    assert (page["X-WP-Total"], page["X-WP-TotalPages"], len(page.json())) == ("40", "3", 10)
    changed = everything[7]
    shop.call("PUT", f"orders/{changed['id']}", {"customer_note": "changed"})
    cutoff = (timezone.now() - timedelta(hours=1)).strftime("%Y-%m-%dT%H:%M:%S")
    recent = shop.get("orders", modified_after=cutoff)
    assert [o["id"] for o in recent.json()] == [changed["id"]]
    assert shop.get("orders", modified_before=cutoff, per_page=100)["X-WP-Total"] == "39"
    completed = shop.get("orders", status="completed", per_page=100).json()
    assert completed and all(o["status"] == "completed" for o in completed)
    both = shop.get("orders", status="completed,processing", per_page=100).json()
    assert len(both) >= len(completed)
    buyer = next(o["customer_id"] for o in everything if o["customer_id"])
    mine = shop.get("orders", customer=buyer, per_page=100).json()
    assert mine and all(o["customer_id"] == buyer for o in mine)
    by_email = shop.get("orders", search=everything[0]["billing"]["email"]).json()
    assert everything[0]["id"] in {o["id"] for o in by_email}
    oldest_first = shop.get("orders", per_page=100, orderby="date", order="asc").json()
    dates = [o["date_created_gmt"] for o in oldest_first]
    assert dates == sorted(dates)
    assert shop.get("orders", product=1).json()["code"] == "rest_invalid_param"


def test_search_finds_a_meta_value(shop):
    made = shop.post(
        "orders", order(meta_data=[{"key": "_migrator_reference", "value": "REF-77"}])
    ).json()
    shop.post("orders", order())
    assert [o["id"] for o in shop.get("orders", search="REF-77").json()] == [made["id"]]


def test_batch_reports_item_errors(shop):
    made = shop.post("orders", order()).json()
    answer = shop.post(
        "orders/batch",
        {
            "create": [order(), order(customer_id=5555555)],
            "update": [{"id": made["id"], "status": "on-hold"}, {"id": 123, "status": "failed"}],
            "delete": [made["id"]],
        },
    ).json()
    assert answer["create"][0]["status"] == "processing"
    assert answer["create"][1]["error"]["code"] == "woocommerce_rest_invalid_customer_id"
    assert answer["update"][0]["status"] == "on-hold"
    assert answer["update"][1]["error"]["code"] == "woocommerce_rest_shop_order_invalid_id"
    assert answer["delete"][0]["id"] == made["id"]
    assert shop.post("orders/batch", {"delete": list(range(1, 102))}).status_code == 413
    assert shop.call("GET", "orders", headers={}).status_code == 401
