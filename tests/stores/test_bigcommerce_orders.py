"""BigCommerceConnector: orders (v2) and blog posts (v2) against the sandbox over real HTTP —
bare arrays, 204 when empty, status mapping both ways, references translated through an id
map, and an order create that is never sent twice blindly."""

from __future__ import annotations

import copy
from typing import Any

import httpx
import pytest

from apps.sandbox.models import SandboxObject
from apps.stores.connectors.base import RecordInvalid, WriteItem
from apps.stores.connectors.bigcommerce import BigCommerceConnector
from apps.stores.connectors.bigcommerce.orders import STATUS_FROM_PLATFORM, STATUS_TO_PLATFORM
from apps.stores.connectors.canonical import ORDER_STATUSES, content_hash
from tests.stores.test_bigcommerce_connector import BASE, Requests, make_sandbox


@pytest.fixture
def sandbox(db):
    return make_sandbox()


@pytest.fixture
def requests() -> Requests:
    return Requests()


@pytest.fixture
def connector(sandbox_http, sandbox, requests):
    _, credentials = sandbox
    conn = BigCommerceConnector(BASE, credentials, transport=sandbox_http, on_response=requests)
    yield conn
    conn.close()


def address(kind: str, **fields: Any) -> dict[str, Any]:
    return {
        "type": kind,
        "first_name": "Ann",
        "last_name": "Lee",
        "company": "",
        "line1": "1 Main St",
        "line2": "Apt 2",
        "city": "Austin",
        "state": "Texas",
        "postcode": "78701",
        "country": "US",
        "phone": "555",
        **fields,
    }


def order(reference: str = "1001", **fields: Any) -> dict[str, Any]:
    record = {
        "reference": reference,
        "status": "processing",
        "currency": "USD",
        "customer": None,
        "email": "ann@example.com",
        "billing": address("billing"),
        "shipping": address("shipping", first_name="Bob"),
        "lines": [
            {
                "product": None,
                "sku": "POSTER",
                "name": "Poster",
                "quantity": 2,
                "price": "10.00",
                "total": "20.00",
            }
        ],
        "subtotal": "20.00",
        "shipping_total": "5.00",
        "tax_total": "2.50",
        "discount_total": "1.00",
        "total": "26.50",
        "created_at": "2024-05-01T10:00:00Z",
        "note": "Ring twice",
    }
    record.update(fields)
    return record


def create(connector, entity: str, *records: dict[str, Any]) -> list[str]:
    results = connector.create(
        entity,
        [
            WriteItem(ref=str(n), payload=connector.from_canonical(entity, r))
            for n, r in enumerate(records)
        ],
    )
    assert all(r.ok for r in results), [r.error for r in results]
    return [r.target_id for r in results]


def simple_product(sku: str) -> dict[str, Any]:
    return {
        "sku": sku,
        "name": f"Product {sku}",
        "slug": sku.lower(),
        "description": "",
        "status": "active",
        "price": "10.00",
        "sale_price": None,
        "stock": None,
        "weight": "1",
        "categories": [],
        "brand": None,
        "images": [],
        "custom_fields": [],
        "options": [],
        "variants": [],
    }


# --- orders --------------------------------------------------------------------------------


def test_order_round_trip_with_customer_and_products_translated(connector):
    [customer_id] = create(
        connector,
        "customers",
        {
            "email": "ann@example.com",
            "first_name": "Ann",
            "last_name": "Lee",
            "company": "",
            "phone": "",
            "accepts_marketing": False,
            "addresses": [],
        },
    )
    [product_id] = create(connector, "products", simple_product("MUG"))
    ids = {"c-7": customer_id, "p-3": product_id}
    source = order(
        customer="c-7",
        lines=[
            {
                "product": "p-3",
                "sku": "MUG",
                "name": "Product MUG",
                "quantity": 1,
                "price": "10.00",
                "total": "10.00",
            },
            {
                "product": None,
                "sku": "GIFT",
                "name": "Gift wrap",
                "quantity": 2,
                "price": "5.00",
                "total": "10.00",
            },
        ],
    )
    resolved = copy.deepcopy(source)
    resolved["customer"] = ids["c-7"]
    resolved["lines"][0]["product"] = ids["p-3"]

    [target_id] = create(connector, "orders", resolved)
    [raw] = connector.read_by_ids("orders", [target_id])
    back = connector.to_canonical("orders", raw)

    assert back == resolved
    assert content_hash(back) == content_hash(resolved)
    assert raw["external_order_id"] == "1001"
    assert raw["external_source"] == "M-MIG"
    assert raw["date_created"] == "Wed, 01 May 2024 10:00:00 +0000"
    assert [line["product_id"] for line in raw["products"]] == [int(product_id), 0]


def test_create_result_carries_the_complete_order(connector):
    [result] = connector.create(
        "orders", [WriteItem(ref="1", payload=connector.from_canonical("orders", order()))]
    )

    assert result.ok
    assert connector.to_canonical("orders", result.record) == order()


@pytest.mark.parametrize("status", ORDER_STATUSES)
def test_status_mapping_both_ways(connector, status):
    [target_id] = create(connector, "orders", order(status=status))

    [raw] = connector.read_by_ids("orders", [target_id])

    assert raw["status_id"] == STATUS_TO_PLATFORM[status]
    assert connector.to_canonical("orders", raw)["status"] == status


def test_every_platform_status_reads_as_a_canonical_one(connector):
    raw = connector.read_by_ids("orders", create(connector, "orders", order()))[0]

    for status_id in range(15):
        mapped = connector.to_canonical("orders", {**raw, "status_id": status_id})["status"]
        assert mapped == STATUS_FROM_PLATFORM[status_id]
        assert mapped in ORDER_STATUSES
    assert set(STATUS_TO_PLATFORM) == set(ORDER_STATUSES)
    with pytest.raises(RecordInvalid, match="status id 99"):
        connector.to_canonical("orders", {**raw, "status_id": 99})


def test_an_order_whose_lines_were_not_read_is_invalid(connector):
    with pytest.raises(RecordInvalid, match="lines were not read"):
        connector.to_canonical("orders", {"id": 1, "status_id": 1, "products": {"url": "x"}})


def test_find_by_reference(connector):
    [target_id] = create(connector, "orders", order("WOO-77"))
    create(connector, "orders", order("WOO-7"))

    found = connector.find_by_natural_key("orders", "WOO-77")

    assert found is not None and str(found["id"]) == target_id
    assert isinstance(found["products"], list)
    assert connector.find_by_natural_key("orders", "WOO-78") is None


def test_empty_store_reads_an_empty_page_from_a_204(connector, requests):
    page = connector.read_page("orders", None, 100)

    assert page.records == []
    assert page.next_cursor is None
    assert page.total == 0
    assert any(r.status_code == 204 for r in requests.seen)


def test_pages_follow_to_the_end(connector):
    ids = create(connector, "orders", *(order(str(n)) for n in range(5)))

    seen, cursor = [], None
    while True:
        page = connector.read_page("orders", cursor, 2)
        seen += [str(r["id"]) for r in page.records]
        if page.next_cursor is None:
            break
        cursor = page.next_cursor

    assert seen == ids
    assert connector.count("orders") == 5


def test_page_size_is_capped_at_250(connector, requests):
    connector.read_page("orders", None, 1000)

    assert requests.seen[0].request.url.params["limit"] == "250"


def test_read_by_ids_uses_id_ranges(connector, requests):
    ids = create(connector, "orders", *(order(str(n)) for n in range(4)))
    requests.seen.clear()

    found = connector.read_by_ids("orders", [ids[3], ids[0], "999999"])

    assert sorted(str(r["id"]) for r in found) == sorted([ids[0], ids[3]])
    listing = [r for r in requests.seen if r.request.url.path.endswith("/v2/orders")]
    assert len(listing) == 2  # one range for the two orders, one for the far id


def test_update_changes_status_lines_and_reference(connector):
    [target_id] = create(connector, "orders", order())
    changed = order(
        status="completed",
        lines=[
            {
                "product": None,
                "sku": "POSTER",
                "name": "Poster",
                "quantity": 3,
                "price": "10.00",
                "total": "30.00",
            },
            {
                "product": None,
                "sku": "PIN",
                "name": "Pin",
                "quantity": 1,
                "price": "2.00",
                "total": "2.00",
            },
        ],
        subtotal="32.00",
        total="38.50",
    )

    [result] = connector.update(
        "orders", [WriteItem("1", connector.from_canonical("orders", changed), target_id=target_id)]
    )

    assert result.ok, result.error
    assert connector.to_canonical("orders", result.record) == changed
    lines = SandboxObject.objects.filter(resource="order-product", parent_id=int(target_id))
    assert lines.count() == 2


def test_delete_archives(connector):
    [target_id] = create(connector, "orders", order())

    [result] = connector.delete("orders", [target_id])

    assert result.ok
    assert connector.count("orders") == 0
    assert connector.read_by_ids("orders", [target_id]) == []


class DropFirstAnswer(httpx.BaseTransport):
    """The request reaches the server and commits; its answer is lost on the way back."""

    def __init__(self, inner: httpx.BaseTransport, method: str, path: str) -> None:
        self.inner, self.method, self.path, self.dropped = inner, method, path, 0

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        response = self.inner.handle_request(request)
        if (
            not self.dropped
            and request.method == self.method
            and request.url.path.endswith(self.path)
        ):
            self.dropped += 1
            response.read()
            raise httpx.RemoteProtocolError("Server disconnected", request=request)
        return response


def test_a_lost_answer_to_an_order_create_never_makes_a_second_order(sandbox_http, sandbox):
    _, credentials = sandbox
    transport = DropFirstAnswer(sandbox_http, "POST", "/v2/orders")
    connector = BigCommerceConnector(BASE, credentials, transport=transport, sleep=lambda s: None)

    [result] = connector.create(
        "orders", [WriteItem(ref="1", payload=connector.from_canonical("orders", order("R-1")))]
    )

    assert transport.dropped == 1
    assert result.ok, result.error
    assert SandboxObject.objects.filter(resource="order").count() == 1
    assert connector.to_canonical("orders", result.record)["reference"] == "R-1"


def test_a_create_that_did_not_land_is_sent_again(sandbox_http, sandbox):
    class RefuseFirst(httpx.BaseTransport):
        def __init__(self) -> None:
            self.refused = 0

        def handle_request(self, request: httpx.Request) -> httpx.Response:
            if not self.refused and request.method == "POST":
                self.refused += 1
                raise httpx.ConnectError("refused", request=request)
            return sandbox_http.handle_request(request)

    _, credentials = sandbox
    transport = RefuseFirst()
    connector = BigCommerceConnector(BASE, credentials, transport=transport, sleep=lambda s: None)

    [result] = connector.create(
        "orders", [WriteItem(ref="1", payload=connector.from_canonical("orders", order("R-2")))]
    )

    assert transport.refused == 1
    assert result.ok, result.error
    assert SandboxObject.objects.filter(resource="order").count() == 1


def test_an_invalid_order_fails_alone_with_the_platforms_message(connector):
    bad = connector.from_canonical("orders", order("BAD", billing=address("billing", postcode="")))
    good = connector.from_canonical("orders", order("GOOD"))

    results = connector.create(
        "orders", [WriteItem(ref="bad", payload=bad), WriteItem(ref="good", payload=good)]
    )

    assert [r.ok for r in results] == [False, True]
    assert results[0].status == 400
    assert "zip" in results[0].error


# --- blog posts ----------------------------------------------------------------------------


def post(slug: str = "hello", **fields: Any) -> dict[str, Any]:
    return {
        "slug": slug,
        "title": "Hello",
        "body": "<p>Hi</p>",
        "summary": "Hi",
        "author": "Ann",
        "status": "published",
        "published_at": "2024-05-01T10:00:00Z",
        "tags": ["news", "tea"],
        "image_url": "https://img.example/t.jpg",
        **fields,
    }


def test_post_round_trip_and_find_by_slug(connector):
    [target_id] = create(connector, "posts", post())

    [raw] = connector.read_by_ids("posts", [target_id])
    found = connector.find_by_natural_key("posts", "hello")

    assert raw["url"] == "/blog/hello/"
    assert connector.to_canonical("posts", raw) == post()
    assert found is not None and str(found["id"]) == target_id
    assert connector.find_by_natural_key("posts", "nope") is None


def test_a_draft_has_no_publication_date(connector):
    record = post("draft", status="draft", published_at=None)

    [target_id] = create(connector, "posts", record)

    [raw] = connector.read_by_ids("posts", [target_id])
    assert connector.to_canonical("posts", raw) == record


def test_duplicate_slug_is_a_409_failure(connector):
    create(connector, "posts", post())

    [result] = connector.create(
        "posts", [WriteItem(ref="x", payload=connector.from_canonical("posts", post(title="B")))]
    )

    assert not result.ok
    assert result.status == 409


def test_posts_read_page_count_update_and_delete(connector):
    assert connector.read_page("posts", None, 10).records == []  # 204
    ids = create(connector, "posts", *(post(f"p{n}") for n in range(3)))

    first = connector.read_page("posts", None, 2)
    second = connector.read_page("posts", first.next_cursor, 2)
    [updated] = connector.update(
        "posts",
        [
            WriteItem(
                "p", connector.from_canonical("posts", post("p0", title="New")), target_id=ids[0]
            )
        ],
    )
    deleted = connector.delete("posts", [ids[1]])

    assert sorted(str(r["id"]) for r in first.records + second.records) == sorted(ids)
    assert first.total == 3 and second.next_cursor is None
    assert updated.ok and updated.record["title"] == "New"
    assert [r.ok for r in deleted] == [True]
    assert connector.count("posts") == 2
