"""BigCommerce delta reads against the sandbox over HTTP: read_changes never skips a record —
thousands sharing one timestamp, records changed, deleted and created between pages — for
products (v3 id keyset), customers (creation-time keyset) and orders (v2 min_id keyset); and
list_ids lists every id in about ids / 250 requests."""

from __future__ import annotations

import json
import math
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest

from apps.sandbox.bigcommerce import blog, brands, categories, orders
from apps.sandbox.bigcommerce import customers as bc_customers
from apps.sandbox.bigcommerce import store as bc_store
from apps.sandbox.models import Flavor, SandboxObject, SandboxStore
from apps.sandbox.services import create_sandbox_store
from apps.stores.connectors.base import ConnectorError
from apps.stores.connectors.bigcommerce import BigCommerceConnector

BASE = "http://testserver/sandbox/bc-shop"
PAGE = 100
# Seeded records share this creation and modification time, well before the test runs.
T = datetime(2026, 1, 5, 12, 0, 0, tzinfo=UTC)
ENTITIES = ("categories", "brands", "products", "customers", "orders", "posts")


class Recording(httpx.BaseTransport):
    def __init__(self, inner: httpx.BaseTransport) -> None:
        self.inner = inner
        self.paths: list[str] = []
        self.queries: list[str] = []

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        self.paths.append(request.url.path)
        self.queries.append(request.url.query.decode())
        return self.inner.handle_request(request)

    def listings(self, suffix: str) -> int:
        return sum(1 for path in self.paths if path.endswith(suffix))


@pytest.fixture
def transport(sandbox_http) -> Recording:
    return Recording(sandbox_http)


@pytest.fixture
def shop(transport) -> Iterator[tuple[SandboxStore, BigCommerceConnector]]:
    sandbox, credentials = create_sandbox_store(
        slug="bc-shop", name="bc-shop", flavor=Flavor.BIGCOMMERCE
    )
    connector = BigCommerceConnector(BASE, credentials, transport=transport, max_attempts=1)
    yield sandbox, connector
    connector.close()


@contextmanager
def clock(at: datetime) -> Iterator[None]:
    """The sandbox's modules stamp writes with their own `_now`: pin it."""
    modules = (bc_store, bc_customers, orders)
    saved = [m._now for m in modules]
    try:
        for module in modules:
            module._now = lambda: at  # type: ignore[attr-defined]
        yield
    finally:
        for module, now in zip(modules, saved, strict=True):
            module._now = now  # type: ignore[attr-defined]


def seed_products(sandbox: SandboxStore, count: int, at: datetime, start: int = 0) -> list[int]:
    """Rows as create_product writes them, in bulk (thousands of POSTs would be slow)."""
    ids = sandbox.allocate_ids(count)
    rows = [
        SandboxObject(
            store=sandbox,
            resource=bc_store.PRODUCT,
            object_id=object_id,
            sku=f"SKU-{n}",
            name=f"Item {n}",
            unique_name=f"Item {n}",
            data=bc_store._new_product_data({"name": f"Item {n}", "price": 5}),
            date_created=at,
            date_modified=at,
        )
        for object_id, n in zip(ids, range(start, start + count), strict=True)
    ]
    SandboxObject.objects.bulk_create(rows, batch_size=500)
    return ids


def seed_customers(sandbox: SandboxStore, count: int, at: datetime, start: int = 0) -> list[int]:
    ids = sandbox.allocate_ids(count)
    rows = []
    for object_id, n in zip(ids, range(start, start + count), strict=True):
        email = f"c{n}@example.com"
        rows.append(
            SandboxObject(
                store=sandbox,
                resource=bc_customers.CUSTOMER,
                object_id=object_id,
                name=email,
                unique_name=email,
                data={"email": email, "first_name": "Ann", "last_name": f"Lee {n}"},
                date_created=at,
                date_modified=at,
            )
        )
    SandboxObject.objects.bulk_create(rows, batch_size=500)
    return ids


def seed_orders(sandbox: SandboxStore, count: int, at: datetime) -> list[int]:
    billing = {
        "first_name": "Ann",
        "last_name": "Lee",
        "street_1": "1 Main St",
        "city": "Austin",
        "zip": "78701",
        "country_iso2": "US",
        "email": "ann@example.com",
    }
    line = {"name": "Poster", "quantity": 1, "price_ex_tax": 10, "price_inc_tax": 11}
    with clock(at):
        made = [
            orders.create_order(sandbox, {"billing_address": billing, "products": [line]}, BASE)
            for _ in range(count)
        ]
    return [o["id"] for o in made]


def category(name: str) -> dict[str, Any]:
    return {"name": name, "tree_id": 1, "url": {"path": f"/{name.lower().replace(' ', '-')}/"}}


def read_window(
    connector: BigCommerceConnector,
    entity: str,
    since: datetime | None,
    until: datetime,
    between: Callable[[int, list[int]], None] | None = None,
    page_size: int = PAGE,
) -> list[int]:
    ids: list[int] = []
    cursor: dict[str, Any] | None = None
    pages = 0
    while True:
        page = connector.read_changes(entity, since, until, cursor, page_size)
        ids.extend(int(r["id"]) for r in page.records)
        pages += 1
        if page.next_cursor is None:
            return ids
        cursor = json.loads(json.dumps(page.next_cursor))  # stored by the engine
        if between is not None:
            between(pages, ids)


# --- products --------------------------------------------------------------------------------


def test_products_sharing_one_timestamp_are_all_read_then_none_in_the_next_window(shop, transport):
    sandbox, connector = shop
    ids = seed_products(sandbox, 2500, T)
    until = T + timedelta(hours=1)

    got = read_window(connector, "products", T - timedelta(hours=1), until)

    assert sorted(got) == ids  # each once: a keyset never overlaps
    requests = transport.listings("/catalog/products")
    minimum = math.ceil(len(ids) / PAGE)
    # One more than the minimum: a full last page cannot tell it is the last.
    assert requests == minimum + 1
    print(f"\nBigCommerce, 2500 products on one timestamp: {requests} requests, min {minimum}")

    transport.paths.clear()
    assert read_window(connector, "products", until, datetime.now(UTC)) == []
    assert transport.listings("/catalog/products") == 1


def test_product_changes_deletes_and_creates_between_pages_lose_nothing(shop, transport):
    sandbox, connector = shop
    ids = seed_products(sandbox, 2500, T)
    deleted: set[int] = set()
    changed: set[int] = set()

    def live_store(page: int, seen: list[int]) -> None:
        unread = [i for i in ids if i > max(seen) and i not in deleted]
        edits = seen[-30:-26] + unread[3:7]
        for product_id in edits:
            bc_store.update_product(sandbox, product_id, {"price": 6 + page})
        changed.update(edits)
        gone = [i for i in seen[-50:-30] + unread[20:25] if i not in deleted]
        bc_store._delete(sandbox, gone)
        deleted.update(gone)
        seed_products(sandbox, 3, datetime.now(UTC), start=10_000 + 10 * page)

    got = read_window(
        connector, "products", T - timedelta(hours=1), T + timedelta(hours=1), live_store
    )

    assert set(ids) - deleted <= set(got)
    assert changed - deleted <= set(got)
    requests = transport.listings("/catalog/products")
    print(
        f"\nBigCommerce products while the store changes: {requests} requests, "
        f"{len(deleted)} deleted"
    )
    assert requests <= math.ceil(len(set(got)) / PAGE) + 1


def test_product_window_bounds_are_inclusive(shop):
    sandbox, connector = shop
    since, until = T, T + timedelta(hours=2)
    [before] = seed_products(sandbox, 1, since - timedelta(seconds=2), start=1)
    [at_since] = seed_products(sandbox, 1, since, start=2)
    [at_until] = seed_products(sandbox, 1, until, start=3)
    [after] = seed_products(sandbox, 1, until + timedelta(seconds=1), start=4)

    got = set(read_window(connector, "products", since, until))

    assert {at_since, at_until} <= got
    assert after not in got and before not in got


# --- customers -------------------------------------------------------------------------------


def test_customers_created_in_one_second_are_read_as_a_group(shop, transport):
    sandbox, connector = shop
    ids = seed_customers(sandbox, 2500, T)
    deleted: list[int] = []

    def live_store(page: int, seen: list[int]) -> None:
        if page in (3, 9):
            # Deletions behind the read position while the group is paged by number: the
            # counts around the pass tell, and the group is read again.
            gone = [i for i in ids if i not in deleted][page * 10 : page * 10 + 40]
            SandboxObject.objects.filter(store=sandbox, object_id__in=gone).delete()
            deleted.extend(gone)
        if page == 5:
            bc_customers.update_customers(sandbox, [{"id": ids[-1], "first_name": "Bo"}])

    got = read_window(
        connector, "customers", T - timedelta(hours=1), T + timedelta(hours=1), live_store
    )

    assert set(ids) - set(deleted) <= set(got)
    requests = transport.listings("/v3/customers")
    minimum = math.ceil(len(ids) / PAGE)
    print(
        f"\nBigCommerce, 2500 customers of one second, 80 deleted: {requests} requests, "
        f"min {minimum}"
    )

    transport.paths.clear()
    got = read_window(connector, "customers", T - timedelta(hours=1), T + timedelta(hours=1))
    assert sorted(set(got)) == sorted(set(ids) - set(deleted))
    requests = transport.listings("/v3/customers")
    # A first page (its records come again in the group), a count before and after the
    # group, its pages, and the page after it.
    assert requests == math.ceil(len(set(got)) / PAGE) + 4
    print(
        f"BigCommerce, {len(set(got))} customers of one second, nothing moving: {requests} requests"
    )


def test_customers_over_many_seconds_with_changes_between_pages(shop, transport):
    sandbox, connector = shop
    ids: list[int] = []
    for second in range(300):
        ids += seed_customers(sandbox, 3, T + timedelta(seconds=second), start=3 * second)
    deleted: set[int] = set()
    changed: set[int] = set()

    def live_store(page: int, seen: list[int]) -> None:
        unread = [i for i in ids if i > max(seen) and i not in deleted]
        edits = [i for i in seen[-5:] + unread[:10] if i not in deleted]
        for start in range(0, len(edits), 10):
            chunk = edits[start : start + 10]
            bc_customers.update_customers(sandbox, [{"id": i, "last_name": "X"} for i in chunk])
        changed.update(edits)
        gone = seen[:3] + unread[10:13]
        SandboxObject.objects.filter(store=sandbox, object_id__in=gone).delete()
        deleted.update(gone)
        seed_customers(sandbox, 2, datetime.now(UTC), start=10_000 + 10 * page)

    got = read_window(
        connector, "customers", T - timedelta(hours=1), T + timedelta(hours=1), live_store
    )

    assert set(ids) - deleted <= set(got)
    assert changed - deleted <= set(got)
    requests = transport.listings("/v3/customers")
    print(f"\nBigCommerce customers over 300 seconds while changing: {requests} requests")
    assert requests <= math.ceil(len(set(got)) / PAGE) + 2


def test_customer_window_bounds_are_inclusive(shop):
    sandbox, connector = shop
    since, until = T, T + timedelta(hours=2)
    [before] = seed_customers(sandbox, 1, since - timedelta(seconds=2), start=1)
    [at_since] = seed_customers(sandbox, 1, since, start=2)
    [at_until] = seed_customers(sandbox, 1, until, start=3)
    [after] = seed_customers(sandbox, 1, until + timedelta(seconds=1), start=4)

    got = set(read_window(connector, "customers", since, until))

    assert {at_since, at_until} <= got
    assert after not in got and before not in got


# --- orders ----------------------------------------------------------------------------------


def test_orders_by_min_id_keyset_with_changes_between_pages(shop, transport):
    sandbox, connector = shop
    ids = seed_orders(sandbox, 110, T)
    base = f"{BASE}/stores/x/v2"
    archived: set[int] = set()
    touched: set[int] = set()

    def live_store(page: int, seen: list[int]) -> None:
        unread = [i for i in ids if i > max(seen)]
        for order_id in (seen[-1], unread[0]):
            orders.update_order(sandbox, order_id, {"customer_message": "changed"}, base)
        orders.archive_order(sandbox, unread[1])
        archived.add(unread[1])
        touched.update((seen[-1], unread[0], unread[1]))
        touched.update(seed_orders(sandbox, 2, datetime.now(UTC)))

    got = read_window(
        connector, "orders", T - timedelta(hours=1), T + timedelta(hours=1), live_store, 50
    )

    assert set(ids) - archived <= set(got)
    assert transport.listings("/v2/orders") == 3  # keyset: no step back, nothing twice
    # The next window starts where this one ended: it holds what changed since, only.
    later = set(read_window(connector, "orders", T + timedelta(hours=1), datetime.now(UTC)))
    assert touched - archived <= later
    assert not later & (set(ids) - touched)


def test_order_window_bounds_are_inclusive(shop):
    sandbox, connector = shop
    since, until = T, T + timedelta(hours=2)
    [before] = seed_orders(sandbox, 1, since - timedelta(seconds=2))
    [at_since] = seed_orders(sandbox, 1, since)
    [at_until] = seed_orders(sandbox, 1, until)
    [after] = seed_orders(sandbox, 1, until + timedelta(seconds=1))

    got = set(read_window(connector, "orders", since, until))

    assert {at_since, at_until} <= got
    assert after not in got and before not in got
    [raw] = connector.read_changes("orders", since, since, None, PAGE).records
    assert raw["products"], "orders come complete, with their lines"


# --- list_ids, supports_changes, modified_at -------------------------------------------------


def test_list_ids_of_products_pages_250_ids_a_request(shop, transport):
    sandbox, connector = shop
    ids = seed_products(sandbox, 2500, T)

    listed = connector.list_ids("products")

    assert sorted(int(i) for i in listed) == ids
    assert transport.listings("/catalog/products") == math.ceil(len(ids) / 250) + 1
    assert all("include_fields=id" in query for query in transport.queries)


def test_list_ids_of_customers_and_orders(shop, transport):
    sandbox, connector = shop
    customers = seed_customers(sandbox, 300, T) + seed_customers(
        sandbox, 20, T + timedelta(1), start=1000
    )
    made = seed_orders(sandbox, 30, T)

    assert sorted(int(i) for i in connector.list_ids("customers")) == customers
    assert sorted(int(i) for i in connector.list_ids("orders")) == made
    assert transport.listings("/v3/customers") <= math.ceil(len(customers) / 250) + 4


def test_list_ids_of_categories_brands_and_posts(shop):
    sandbox, connector = shop
    with clock(T):
        categories.create_categories(sandbox, [category(f"Cat {n}") for n in range(3)])
        made_brands = [brands.create_brand(sandbox, {"name": f"Brand {n}"}) for n in range(4)]
        posts = [blog.create_post(sandbox, {"title": f"Post {n}", "body": "b"}) for n in range(5)]
    category_ids = SandboxObject.objects.filter(store=sandbox, resource=categories.CATEGORY)

    assert set(connector.list_ids("categories")) == {
        str(i) for i in category_ids.values_list("object_id", flat=True)
    }
    assert set(connector.list_ids("brands")) == {str(b["id"]) for b in made_brands}
    assert set(connector.list_ids("posts")) == {str(p["id"]) for p in posts}


def test_supports_changes_tells_the_truth(shop):
    _, connector = shop
    supported = {e for e in ENTITIES if connector.supports_changes(e)}
    assert supported == {"products", "customers", "orders"}
    assert connector.supports_changes("redirects") is False
    with pytest.raises(ConnectorError, match="compare content hashes"):
        connector.read_changes("brands", None, datetime.now(UTC), None, PAGE)


def test_modified_at_reads_each_raw_shape(shop):
    sandbox, connector = shop
    seed_products(sandbox, 1, T)
    seed_customers(sandbox, 1, T)
    seed_orders(sandbox, 1, T)
    with clock(T):
        categories.create_categories(sandbox, [category("Cat")])
        brands.create_brand(sandbox, {"name": "Brand"})
        blog.create_post(sandbox, {"title": "Post", "body": "b"})
    for entity in ENTITIES:
        [raw] = connector.read_page(entity, None, 10).records
        expected = T if entity in ("products", "customers", "orders") else None
        assert connector.modified_at(entity, raw) == expected, (entity, raw)
