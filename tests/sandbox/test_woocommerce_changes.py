"""What the WooCommerce sandbox offers delta reads, with WordPress's semantics: date windows
exclusive at whole seconds, `offset` paging in id order, and the global `_fields` parameter."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from apps.sandbox.demo_catalog import seed_store
from apps.sandbox.woocommerce.listing import only_fields
from apps.sandbox.woocommerce.store import WooStore
from tests.sandbox.test_woocommerce_api import Shop
from tests.sandbox.test_woocommerce_posts import Site

pytestmark = pytest.mark.django_db

T = datetime(2026, 1, 5, 12, 0, 0, tzinfo=UTC)


def seed_at(shop: Shop, sku: str, at: datetime) -> int:
    WooStore(shop.sandbox, now=at).seed([{"name": sku, "sku": sku, "regular_price": "1.00"}])
    return shop.get("products", sku=sku).json()[0]["id"]


def ids(response) -> list[int]:
    assert response.status_code == 200, response.content
    return [item["id"] for item in response.json()]


def test_modified_windows_are_exclusive_and_compare_whole_seconds():
    shop = Shop()
    # Stored with a fraction, shown (and compared by WordPress) as 12:00:00.
    at = seed_at(shop, "AT", T + timedelta(microseconds=700_000))
    later = seed_at(shop, "LATER", T + timedelta(seconds=1))

    def window(**bounds: str) -> list[int]:
        return ids(shop.get("products", orderby="id", order="asc", dates_are_gmt="true", **bounds))

    assert window(modified_after="2026-01-05T12:00:00") == [later]
    assert window(modified_after="2026-01-05T11:59:59") == [at, later]
    # A fraction in the bound is dropped, as WordPress formats it "Y-m-d H:i:s".
    assert window(modified_after="2026-01-05T11:59:59.900") == [at, later]
    assert window(modified_before="2026-01-05T12:00:01") == [at]
    assert window(modified_before="2026-01-05T12:00:00") == []
    assert window(modified_after="2026-01-05T11:59:59", modified_before="2026-01-05T12:00:01") == [
        at
    ]
    with_offset = window(modified_after="2026-01-05T11:59:59%2B00:00")
    assert with_offset == [at, later]


def test_offset_pages_in_id_order_ignore_page():
    shop = Shop()
    made = [seed_at(shop, f"S{n}", T) for n in range(7)]
    page = shop.get("products", orderby="id", order="asc", per_page=3, offset=2, page=3)
    assert ids(page) == made[2:5]
    assert page["X-WP-Total"] == "7"
    assert ids(shop.get("products", orderby="id", order="asc", per_page=3, offset=6)) == made[6:]
    assert ids(shop.get("products", orderby="id", order="asc", per_page=3, offset=9)) == []


def test_fields_keeps_only_the_named_fields_on_every_collection():
    shop = Shop()
    seed_store(shop.sandbox, 3, categories=True, customers=2, orders=2, now=T)
    for path in ("products", "products/categories", "customers", "orders"):
        listed = shop.get(path, _fields="id", per_page=100)
        assert listed.status_code == 200
        assert listed.json() and all(list(item) == ["id"] for item in listed.json()), path
    pair = shop.get("products", _fields="id,name", per_page=1).json()[0]
    assert set(pair) == {"id", "name"}
    nested = shop.get("orders", **{"_fields": "id,billing.email", "per_page": 1}).json()[0]
    assert set(nested) == {"id", "billing"} and list(nested["billing"]) == ["email"]


def test_fields_on_wordpress_posts():
    site = Site()
    seed_store(site.sandbox, 0, posts=4, now=T)
    listed = site.get("posts", status="any", _fields="id", per_page=100)
    assert len(listed.json()) == 4
    assert all(list(item) == ["id"] for item in listed.json())


def test_only_fields_never_edits_the_stored_document():
    document = {"id": 1, "a": {"b": 1, "c": 2}, "d": 3}
    picked = only_fields([document], ["a", "a.b", "nope"])
    assert picked == [{"a": {"b": 1, "c": 2}}]
    picked = only_fields([document], ["a.b", "a", "id"])
    assert picked == [{"a": {"b": 1, "c": 2}, "id": 1}]
    assert document == {"id": 1, "a": {"b": 1, "c": 2}, "d": 3}
    assert only_fields([document], []) == [document]
