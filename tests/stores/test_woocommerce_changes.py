"""WooCommerce delta reads against the sandbox over HTTP: read_changes never skips a record —
thousands sharing one timestamp, records changed, deleted and created between pages — and
list_ids lists every id in about ids / 100 requests."""

from __future__ import annotations

import json
import math
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest

from apps.sandbox.demo_catalog import seed_store
from apps.sandbox.models import Flavor, SandboxObject, SandboxStore
from apps.sandbox.services import create_sandbox_store
from apps.sandbox.woocommerce.orders import OrderStore
from apps.sandbox.woocommerce.store import WooStore
from apps.sandbox.woocommerce.wp_posts import PostStore
from apps.stores.connectors.base import ConnectorError
from apps.stores.connectors.woocommerce import WooCommerceConnector
from apps.stores.connectors.woocommerce.changes import OVERLAP

PAGE = 100
# Seeded records share this modification time, well before the test runs.
T = datetime(2026, 1, 5, 12, 0, 0, tzinfo=UTC)


class Recording(httpx.BaseTransport):
    """The sandbox transport, counting the listing requests sent through it."""

    def __init__(self, inner: httpx.BaseTransport) -> None:
        self.inner = inner
        self.paths: list[str] = []
        self.queries: list[str] = []

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        self.paths.append(request.url.path)
        self.queries.append(request.url.query.decode())
        return self.inner.handle_request(request)

    def listings(self, resource: str) -> int:
        return sum(1 for path in self.paths if path.endswith(f"/{resource}"))


@pytest.fixture
def transport(sandbox_http) -> Recording:
    return Recording(sandbox_http)


def connect(transport: httpx.BaseTransport) -> tuple[SandboxStore, WooCommerceConnector]:
    sandbox, credentials = create_sandbox_store(slug="shop", name="shop", flavor=Flavor.WOOCOMMERCE)
    connector = WooCommerceConnector(
        "http://testserver/sandbox/shop", credentials, transport=transport, max_attempts=1
    )
    return sandbox, connector


def seed_products(sandbox: SandboxStore, count: int, at: datetime, start: int = 0) -> list[int]:
    payloads = [
        {"name": f"Item {n}", "sku": f"SKU-{n}", "regular_price": "5.00"}
        for n in range(start, start + count)
    ]
    WooStore(sandbox, now=at).seed(payloads)
    rows = SandboxObject.objects.filter(
        store=sandbox, resource="product", sku__in=[p["sku"] for p in payloads]
    )
    return sorted(rows.values_list("object_id", flat=True))


def read_window(
    connector: WooCommerceConnector,
    entity: str,
    since: datetime | None,
    until: datetime,
    between: Callable[[int, list[int]], None] | None = None,
) -> list[int]:
    """Every id read_changes returns, in order; `between(page_number, ids_so_far)` runs
    between page calls (the live shop changing under the read)."""
    ids: list[int] = []
    cursor: dict[str, Any] | None = None
    pages = 0
    while True:
        page = connector.read_changes(entity, since, until, cursor, PAGE)
        assert page.total is None or page.total >= 0
        ids.extend(int(r["id"]) for r in page.records)
        pages += 1
        if page.next_cursor is None:
            return ids
        # The engine stores cursors between batches: they must survive JSON.
        cursor = json.loads(json.dumps(page.next_cursor))
        if between is not None:
            between(pages, ids)


def test_thousands_sharing_one_timestamp_are_all_read_then_none_in_the_next_window(transport):
    sandbox, connector = connect(transport)
    ids = seed_products(sandbox, 2500, T)
    until = T + timedelta(hours=1)

    got = read_window(connector, "products", T - timedelta(hours=1), until)

    assert set(got) == set(ids)
    assert len(got) == len(ids), "the overlap between pages is not returned twice"
    requests = transport.listings("products")
    minimum = math.ceil(len(ids) / PAGE)
    assert requests <= minimum * 1.05, (requests, minimum)
    print(f"\n2500 on one timestamp: {requests} requests, minimum {minimum}")

    transport.paths.clear()
    later = read_window(connector, "products", until, datetime.now(UTC))
    assert later == []
    assert transport.listings("products") == 1


def test_since_none_reads_everything_up_to_until(transport):
    sandbox, connector = connect(transport)
    ids = seed_products(sandbox, 250, T)
    assert sorted(read_window(connector, "products", None, T + timedelta(seconds=1))) == ids


def test_changes_deletes_and_creates_between_pages_lose_nothing(transport):
    sandbox, connector = connect(transport)
    ids = seed_products(sandbox, 2500, T)
    shop = WooStore(sandbox)
    deleted: set[int] = set()
    changed: set[int] = set()
    created: list[int] = []

    def live_shop(page: int, seen: list[int]) -> None:
        read = sorted(set(seen))
        unread = [i for i in ids if i > read[-1] and i not in deleted]
        if page % 3 == 1:
            # Records already read leave the window (changed now, after `until`): ahead of
            # them nothing moves, as the list has no upper bound.
            edits = read[-40:-20] + unread[5:15]
            shop.update_products([{"id": i, "description": f"changed {page}"} for i in edits])
            changed.update(edits)
        if page % 3 == 2:
            # Deletions behind the read position shift every unread record forward: more than
            # the overlap, so the scan must step back.
            gone = [i for i in read[-60:-10] if i not in deleted] + unread[20:25]
            shop.delete_products(gone)
            deleted.update(gone)
        if page % 5 == 0:
            made = seed_products(sandbox, 5, datetime.now(UTC), start=10_000 + page * 10)
            created.extend(made)

    got = read_window(
        connector, "products", T - timedelta(hours=1), T + timedelta(hours=1), live_shop
    )

    must = set(ids) - deleted
    assert must <= set(got), f"missing {sorted(must - set(got))[:10]}"
    assert changed - deleted <= set(got)
    requests = transport.listings("products")
    minimum = math.ceil(len(ids) / PAGE)
    print(
        f"\nwhile the shop changes: {requests} requests for {len(got)} records "
        f"({len(got) - len(set(got))} twice), minimum {minimum}, "
        f"{len(deleted)} deleted, {len(changed)} changed, {len(created)} created"
    )
    # Each burst of deletions costs about one extra request (a step back).
    assert requests <= minimum + 2 + 9


def test_window_bounds_are_inclusive_at_whole_seconds(transport):
    sandbox, connector = connect(transport)
    since, until = T, T + timedelta(hours=2)
    [before] = seed_products(sandbox, 1, since - timedelta(seconds=2), start=1)
    [at_since] = seed_products(sandbox, 1, since, start=2)
    [at_until] = seed_products(sandbox, 1, until, start=3)
    [after] = seed_products(sandbox, 1, until + timedelta(seconds=1), start=4)

    got = set(read_window(connector, "products", since, until))

    assert {at_since, at_until} <= got
    assert after not in got
    assert before not in got


@pytest.mark.parametrize("entity", ["orders", "posts"])
def test_orders_and_posts_read_by_window(transport, entity):
    sandbox, connector = connect(transport)
    seed_store(sandbox, 10, customers=3, orders=30, posts=30, now=T)
    rows = SandboxObject.objects.filter(store=sandbox, resource=entity[:-1])
    every = sorted(rows.values_list("object_id", flat=True))
    assert len(every) == 30
    # The demo store dates its orders and posts in the past; the rows' modification time is T.
    assert set(read_window(connector, entity, None, T + timedelta(seconds=1))) == set(every)

    target = every[7]
    writer = OrderStore(sandbox) if entity == "orders" else PostStore(sandbox)
    [changed] = writer.update(
        [{"id": target, "customer_note" if entity == "orders" else "excerpt": "changed"}]
    )
    assert isinstance(changed, dict)
    now = datetime.now(UTC)
    assert read_window(connector, entity, T + timedelta(minutes=1), now) == [target]
    records = connector.read_changes(entity, T + timedelta(minutes=1), now, None, PAGE).records
    modified = connector.modified_at(entity, records[0])
    assert modified is not None and modified >= now - timedelta(minutes=1)
    if entity == "posts":
        assert "_embedded" in records[0] or not records[0].get("author")


def test_list_ids_pages_every_id_with_fields_id(transport):
    sandbox, connector = connect(transport)
    ids = seed_products(sandbox, 2500, T)

    listed = connector.list_ids("products")

    assert sorted(int(i) for i in listed) == ids
    assert all("_fields=id" in query for query in transport.queries)
    requests = transport.listings("products")
    assert requests == math.ceil((len(ids) - OVERLAP) / (PAGE - OVERLAP)), requests
    print(f"\nlist_ids of 2500: {requests} requests")


def test_list_ids_of_every_entity(transport):
    sandbox, connector = connect(transport)
    seed_store(sandbox, 12, categories=True, brands=True, customers=7, orders=9, posts=5, now=T)
    resources = {
        "categories": "category",
        "brands": "brand",
        "products": "product",
        "customers": "customer",
        "orders": "order",
        "posts": "post",
    }
    for entity, resource in resources.items():
        rows = SandboxObject.objects.filter(store=sandbox, resource=resource)
        expected = {str(i) for i in rows.values_list("object_id", flat=True)}
        assert expected, entity
        assert set(connector.list_ids(entity)) == expected, entity


def test_supports_changes_tells_the_truth(transport):
    _, connector = connect(transport)
    assert {
        e
        for e in ("categories", "brands", "products", "customers", "orders", "posts")
        if connector.supports_changes(e)
    } == {"products", "orders", "posts"}
    with pytest.raises(ConnectorError, match="compare content hashes"):
        connector.read_changes("customers", None, datetime.now(UTC), None, PAGE)


def test_modified_at_reads_each_entity(transport):
    sandbox, connector = connect(transport)
    seed_store(sandbox, 3, categories=True, brands=True, orders=2, customers=2, posts=2, now=T)
    for entity in ("products", "customers", "orders", "posts"):
        [raw] = connector.read_page(entity, None, 1).records[:1]
        assert connector.modified_at(entity, raw) == T, entity
    for entity in ("categories", "brands"):
        raw = connector.read_page(entity, None, 1).records[0]
        assert connector.modified_at(entity, raw) is None, entity
