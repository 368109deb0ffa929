"""Orders (Orders API v2 `orders`), as SandboxObject rows.

- resource "order": parent_id is the customer id (0: guest), name the `external_order_id` (a
  real, indexed column, so the filter by it is cheap), `data` the rest: billing address, shipping
  addresses (with their ids), status, notes, and the money values the client set (`overrides`).
- resource "order-product": one row per line, parent_id the order id.

v2 speaks differently from v3: lists are bare JSON arrays, an empty list (or a page past the
end) is 204 No Content with no body, errors are arrays of {status, message}, money is a string
with four decimals, dates are RFC 2822. Totals not set by the client are computed from the
lines (subtotal + shipping - discount); a DELETE archives the order (is_deleted), and archived
orders leave the lists and counts unless asked for with is_deleted=true.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from datetime import UTC, datetime
from decimal import Decimal
from email.utils import format_datetime
from typing import Any

from django.db import transaction
from django.db.models import QuerySet
from django.http import QueryDict
from django.utils import timezone

from apps.sandbox.bigcommerce import customers
from apps.sandbox.bigcommerce.checks import Checker, parse_moment
from apps.sandbox.bigcommerce.errors import not_found, v2_invalid
from apps.sandbox.models import SandboxObject, SandboxStore
from apps.sandbox.webhooks import notify

ORDER = "order"
LINE = "order-product"
MAX_LIMIT = 250
DEFAULT_LIMIT = 50
STATUSES = {
    0: "Incomplete",
    1: "Pending",
    2: "Shipped",
    3: "Partially Shipped",
    4: "Refunded",
    5: "Cancelled",
    6: "Declined",
    7: "Awaiting Payment",
    8: "Awaiting Pickup",
    9: "Awaiting Shipment",
    10: "Completed",
    11: "Awaiting Fulfillment",
    12: "Manual Verification Required",
    13: "Disputed",
    14: "Partially Refunded",
}
SORTS = {
    "id": "object_id",
    "date_created": "date_created",
    "date_modified": "date_modified",
    "status_id": "data__status_id",
    "customer_id": "parent_id",
}
ADDRESS_FIELDS = (
    "first_name",
    "last_name",
    "company",
    "street_1",
    "street_2",
    "city",
    "state",
    "zip",
    "country",
    "country_iso2",
    "phone",
    "email",
)
# Client-set money: pairs must come together, as the platform requires.
MONEY_PAIRS = (
    ("subtotal_ex_tax", "subtotal_inc_tax"),
    ("total_ex_tax", "total_inc_tax"),
    ("shipping_cost_ex_tax", "shipping_cost_inc_tax"),
)
TEXTS = (
    "staff_notes",
    "customer_message",
    "external_source",
    "external_order_id",
    "payment_method",
)
ZERO = Decimal("0")


def rfc2822(moment: datetime) -> str:
    return format_datetime(moment.astimezone(UTC))


def money(amount: Decimal | str | int | float) -> str:
    return f"{Decimal(str(amount)):.4f}"


def _now() -> datetime:
    return timezone.now().replace(microsecond=0)


def _orders(store: SandboxStore) -> QuerySet[SandboxObject]:
    return SandboxObject.objects.filter(store=store, resource=ORDER)


def _lines(store: SandboxStore) -> QuerySet[SandboxObject]:
    return SandboxObject.objects.filter(store=store, resource=LINE)


def _lines_by_order(
    store: SandboxStore, order_ids: Iterable[int]
) -> dict[int, list[SandboxObject]]:
    grouped: dict[int, list[SandboxObject]] = defaultdict(list)
    for row in _lines(store).filter(parent_id__in=list(order_ids)).order_by("object_id"):
        grouped[row.parent_id].append(row)
    return grouped


# --- serialisation -------------------------------------------------------------------------


def _line_amounts(line: dict[str, Any]) -> tuple[Decimal, Decimal, Decimal, Decimal]:
    quantity = Decimal(line["quantity"])
    ex, inc = Decimal(line["price_ex_tax"]), Decimal(line["price_inc_tax"])
    return ex, inc, ex * quantity, inc * quantity


def line_json(row: SandboxObject, order: SandboxObject) -> dict[str, Any]:
    data = row.data
    ex, inc, total_ex, total_inc = _line_amounts(data)
    addresses = order.data.get("shipping_addresses", [])
    return {
        "id": row.object_id,
        "order_id": row.parent_id,
        "product_id": data.get("product_id", 0),
        "variant_id": data.get("variant_id", 0),
        "order_pickup_method_id": 0,
        "order_address_id": addresses[0]["id"] if addresses else 0,
        "name": data["name"],
        "name_customer": data["name"],
        "name_merchant": data["name"],
        "sku": data.get("sku", ""),
        "upc": "",
        "type": "physical",
        "base_price": money(ex),
        "price_ex_tax": money(ex),
        "price_inc_tax": money(inc),
        "price_tax": money(inc - ex),
        "base_total": money(total_ex),
        "total_ex_tax": money(total_ex),
        "total_inc_tax": money(total_inc),
        "total_tax": money(total_inc - total_ex),
        "weight": "0.0000",
        "quantity": data["quantity"],
        "base_cost_price": "0.0000",
        "is_refunded": False,
        "quantity_refunded": 0,
        "refund_amount": "0.0000",
        "return_id": 0,
        "wrapping_id": 0,
        "wrapping_name": "",
        "quantity_shipped": 0,
        "fixed_shipping_cost": "0.0000",
        "option_set_id": None,
        "parent_order_product_id": None,
        "is_bundled_product": False,
        "external_id": None,
        "applied_discounts": [],
        "product_options": [],
        "configurable_fields": [],
        "discounted_total_inc_tax": money(total_inc),
    }


def _totals(order: SandboxObject, lines: list[SandboxObject]) -> dict[str, Decimal]:
    data = order.data
    set_by_client = {key: Decimal(value) for key, value in data.get("overrides", {}).items()}
    amounts = [_line_amounts(line.data) for line in lines]
    totals = {
        "subtotal_ex_tax": sum((a[2] for a in amounts), ZERO),
        "subtotal_inc_tax": sum((a[3] for a in amounts), ZERO),
        "shipping_cost_ex_tax": ZERO,
        "shipping_cost_inc_tax": ZERO,
        "discount_amount": ZERO,
    }
    totals.update({k: v for k, v in set_by_client.items() if k in totals})
    discount = totals["discount_amount"]
    totals["total_ex_tax"] = set_by_client.get(
        "total_ex_tax", totals["subtotal_ex_tax"] + totals["shipping_cost_ex_tax"] - discount
    )
    totals["total_inc_tax"] = set_by_client.get(
        "total_inc_tax", totals["subtotal_inc_tax"] + totals["shipping_cost_inc_tax"] - discount
    )
    return totals


def _address_json(address: dict[str, Any]) -> dict[str, Any]:
    body = {key: address.get(key, "") for key in ADDRESS_FIELDS}
    if not body["country"]:
        code = body["country_iso2"]
        body["country"] = customers.COUNTRIES.get(code, code)
    return body


def order_json(order: SandboxObject, lines: list[SandboxObject], base: str) -> dict[str, Any]:
    data = order.data
    totals = _totals(order, lines)
    currency = data.get("currency_code", "USD")
    status_id = data.get("status_id", 1)

    def link(name: str) -> dict[str, str]:
        return {
            "url": f"{base}/orders/{order.object_id}/{name}",
            "resource": f"/orders/{order.object_id}/{name}",
        }

    return {
        "id": order.object_id,
        "customer_id": order.parent_id or 0,
        "date_created": rfc2822(order.date_created),
        "date_modified": rfc2822(order.date_modified),
        "date_shipped": "",
        "status_id": status_id,
        "status": STATUSES[status_id],
        "custom_status": STATUSES[status_id],
        "subtotal_ex_tax": money(totals["subtotal_ex_tax"]),
        "subtotal_inc_tax": money(totals["subtotal_inc_tax"]),
        "subtotal_tax": money(totals["subtotal_inc_tax"] - totals["subtotal_ex_tax"]),
        "base_shipping_cost": money(totals["shipping_cost_ex_tax"]),
        "shipping_cost_ex_tax": money(totals["shipping_cost_ex_tax"]),
        "shipping_cost_inc_tax": money(totals["shipping_cost_inc_tax"]),
        "shipping_cost_tax": money(
            totals["shipping_cost_inc_tax"] - totals["shipping_cost_ex_tax"]
        ),
        "base_handling_cost": "0.0000",
        "handling_cost_ex_tax": "0.0000",
        "handling_cost_inc_tax": "0.0000",
        "handling_cost_tax": "0.0000",
        "base_wrapping_cost": "0.0000",
        "wrapping_cost_ex_tax": "0.0000",
        "wrapping_cost_inc_tax": "0.0000",
        "wrapping_cost_tax": "0.0000",
        "total_ex_tax": money(totals["total_ex_tax"]),
        "total_inc_tax": money(totals["total_inc_tax"]),
        "total_tax": money(totals["total_inc_tax"] - totals["total_ex_tax"]),
        "items_total": sum(line.data["quantity"] for line in lines),
        "items_shipped": 0,
        "payment_method": data.get("payment_method", ""),
        "payment_provider_id": "",
        "payment_status": "",
        "refunded_amount": "0.0000",
        "order_is_digital": False,
        "store_credit_amount": "0.0000",
        "gift_certificate_amount": "0.0000",
        "currency_id": 1,
        "currency_code": currency,
        "currency_exchange_rate": "1.0000000000",
        "default_currency_id": 1,
        "default_currency_code": currency,
        "staff_notes": data.get("staff_notes", ""),
        "customer_message": data.get("customer_message", ""),
        "discount_amount": money(totals["discount_amount"]),
        "coupon_discount": "0.0000",
        "shipping_address_count": len(data.get("shipping_addresses", [])),
        "is_deleted": data.get("is_deleted", False),
        "ebay_order_id": "0",
        "billing_address": {**_address_json(data.get("billing_address", {})), "form_fields": []},
        "is_email_opt_in": False,
        "order_source": "external",
        "channel_id": 1,
        "external_source": data.get("external_source"),
        "external_id": None,
        "external_merchant_id": None,
        "external_order_id": order.name,
        "customer_locale": "en",
        "products": link("products"),
        "shipping_addresses": link("shipping_addresses"),
        "coupons": link("coupons"),
    }


def shipping_address_json(
    order: SandboxObject, address: dict[str, Any], items: int, base: str
) -> dict[str, Any]:
    quotes = f"/orders/{order.object_id}/shipping_addresses/{address['id']}/shipping_quotes"
    return {
        "id": address["id"],
        "order_id": order.object_id,
        **_address_json(address),
        "form_fields": [],
        "items_total": items,
        "items_shipped": 0,
        "shipping_method": address.get("shipping_method", ""),
        "base_cost": "0.0000",
        "cost_ex_tax": "0.0000",
        "cost_inc_tax": "0.0000",
        "cost_tax": "0.0000",
        "cost_tax_class_id": 0,
        "shipping_zone_id": 0,
        "shipping_zone_name": "",
        "shipping_quotes": {"url": base + quotes, "resource": quotes},
    }


# --- checks --------------------------------------------------------------------------------


def _check_address(value: Any, path: str, errors: dict[str, str], *, billing: bool) -> dict:
    check = Checker(value, errors, f"{path}.")
    for name in ADDRESS_FIELDS:
        check.text(name, max_length=255)
    if billing and check.ok:
        zip_code = check.clean.get("zip", "")
        if len(zip_code.strip()) < 2:
            check.fail("zip", "The billing address must include the ZIP code (2+ characters)")
    if check.ok and not (check.clean.get("country") or check.clean.get("country_iso2")):
        check.fail("country", "a country (or country_iso2) is required")
    return check.clean


def _check_line(value: Any, path: str, errors: dict[str, str], *, existing: bool) -> dict:
    check = Checker(value, errors, f"{path}.")
    if existing:
        check.integer("id", minimum=1)
    check.integer("product_id")
    check.integer("variant_id")
    check.integer("quantity", required=not existing, minimum=0 if existing else 1)
    check.text("name", max_length=255)
    check.text("sku", max_length=255)
    check.money("price_ex_tax")
    check.money("price_inc_tax")
    if check.ok and not existing and not check.clean.get("product_id"):
        # A custom product (not in the catalog) needs its own name and prices.
        for name in ("name", "price_ex_tax", "price_inc_tax"):
            if name not in check.clean and f"{path}.{name}" not in errors:
                check.fail(name, "is required for a product that is not in the catalog")
    return check.clean


def _check_order(payload: Any, *, creating: bool) -> dict[str, Any]:
    problems: dict[str, str] = {}
    check = Checker(payload, problems)
    if not check.ok:
        raise v2_invalid(problems)
    body = check.payload
    clean = check.clean
    if "billing_address" in body or creating:
        if creating and "billing_address" not in body:
            check.fail("billing_address", "is required")
        else:
            clean["billing_address"] = _check_address(
                body["billing_address"], "billing_address", problems, billing=True
            )
    if "shipping_addresses" in body:
        addresses = body["shipping_addresses"]
        if not isinstance(addresses, list):
            check.fail("shipping_addresses", "must be a list")
        else:
            clean["shipping_addresses"] = [
                {
                    **_check_address(a, f"shipping_addresses.{i}", problems, billing=False),
                    **(
                        {"id": a["id"]}
                        if isinstance(a, dict) and isinstance(a.get("id"), int)
                        else {}
                    ),
                }
                for i, a in enumerate(addresses)
            ]
    lines = body.get("products")
    if creating and (not isinstance(lines, list) or not lines):
        check.fail("products", "is required (a non-empty list of order products)")
    elif lines is not None:
        if not isinstance(lines, list):
            check.fail("products", "must be a list")
        else:
            clean["products"] = [
                _check_line(line, f"products.{i}", problems, existing=not creating)
                for i, line in enumerate(lines)
            ]
    check.integer("status_id")
    if "status_id" in clean and clean["status_id"] not in STATUSES:
        check.fail("status_id", "is not an order status id (0-14)")
        del clean["status_id"]
    check.integer("customer_id")
    for name in TEXTS:
        check.text(name, max_length=65535)
    check.text("currency_code", min_length=3, max_length=3)
    check.moment("date_created")
    for pair in MONEY_PAIRS:
        for name in pair:
            check.money(name)
        given = [name for name in pair if name in body]
        if len(given) == 1:
            other = pair[1] if given[0] == pair[0] else pair[0]
            check.fail(other, f"is required when {given[0]} is given")
    check.money("discount_amount")
    if problems:
        raise v2_invalid(problems)
    return clean


def _check_references(store: SandboxStore, clean: dict[str, Any]) -> dict[int, SandboxObject]:
    """The customer and catalog products an order names must exist; returns the products."""
    problems: dict[str, str] = {}
    customer_id = clean.get("customer_id")
    if customer_id and not customers.existing_ids(store, [customer_id]):
        problems["customer_id"] = f"Customer {customer_id} does not exist"
    wanted = {line["product_id"] for line in clean.get("products", []) if line.get("product_id")}
    products = {
        row.object_id: row
        for row in SandboxObject.objects.filter(
            store=store, resource="product", object_id__in=wanted
        )
    }
    for index, line in enumerate(clean.get("products", [])):
        product_id = line.get("product_id")
        if product_id and product_id not in products:
            problems[f"products.{index}.product_id"] = f"Product {product_id} does not exist"
    if problems:
        raise v2_invalid(problems)
    return products


def _new_line(line: dict[str, Any], products: dict[int, SandboxObject]) -> dict[str, Any]:
    product = products.get(line.get("product_id") or 0)
    catalog_price = str((product.data.get("price") if product else None) or 0)
    ex = line.get("price_ex_tax", line.get("price_inc_tax", Decimal(catalog_price)))
    inc = line.get("price_inc_tax", ex)
    return {
        "product_id": line.get("product_id") or 0,
        "variant_id": line.get("variant_id") or 0,
        "name": line.get("name") or (product.name if product else ""),
        "sku": line.get("sku", product.sku if product else ""),
        "quantity": line["quantity"],
        "price_ex_tax": str(ex),
        "price_inc_tax": str(inc),
    }


def _apply(order: SandboxObject, clean: dict[str, Any], ids: list[int]) -> None:
    """Set the order's fields from a checked payload (lines are handled by the caller)."""
    data = order.data
    if "billing_address" in clean:
        data["billing_address"] = {**data.get("billing_address", {}), **clean["billing_address"]}
    if "shipping_addresses" in clean:
        current = [dict(a) for a in data.get("shipping_addresses", [])]
        for index, address in enumerate(clean["shipping_addresses"]):
            target = next((a for a in current if a["id"] == address.get("id")), None)
            if target is None and "id" not in address and index < len(current):
                target = current[index]
            if target is None:
                current.append({**address, "id": ids.pop(0)})
            else:
                target.update({k: v for k, v in address.items() if k != "id"})
        data["shipping_addresses"] = current
    for name in ("status_id", *TEXTS, "currency_code"):
        if name in clean:
            data[name] = clean[name]
    if "external_order_id" in clean:
        order.name = clean["external_order_id"]
    if "customer_id" in clean:
        order.parent_id = clean["customer_id"]
    overrides = dict(data.get("overrides", {}))
    for name in (*(n for pair in MONEY_PAIRS for n in pair), "discount_amount"):
        if name in clean:
            overrides[name] = str(clean[name])
    data["overrides"] = overrides


# --- writes --------------------------------------------------------------------------------


def create_order(store: SandboxStore, payload: Any, base: str) -> dict[str, Any]:
    clean = _check_order(payload, creating=True)
    products = _check_references(store, clean)
    now = _now()
    lines = clean["products"]
    ids = store.allocate_ids(1 + len(lines) + len(clean.get("shipping_addresses", [])))
    order_id = ids.pop(0)
    line_ids = [ids.pop(0) for _ in lines]
    order = SandboxObject(
        store=store,
        resource=ORDER,
        object_id=order_id,
        parent_id=clean.get("customer_id", 0),
        data={"status_id": 1, "is_deleted": False},
        date_created=clean.get("date_created", now),
        date_modified=now,
    )
    _apply(order, clean, ids)
    rows = [
        SandboxObject(
            store=store,
            resource=LINE,
            object_id=line_id,
            parent_id=order_id,
            data=_new_line(line, products),
            date_created=now,
            date_modified=now,
        )
        for line_id, line in zip(line_ids, lines, strict=True)
    ]
    with transaction.atomic():
        order.save()
        SandboxObject.objects.bulk_create(rows)
        notify(store, ORDER, "created", [order_id])
    return order_json(order, rows, base)


def _order(store: SandboxStore, order_id: int, *, lock: bool = False) -> SandboxObject:
    qs = _orders(store).filter(object_id=order_id)
    order = (qs.select_for_update() if lock else qs).first()
    if order is None:
        raise not_found()
    return order


def update_order(store: SandboxStore, order_id: int, payload: Any, base: str) -> dict[str, Any]:
    """PUT: fields given change; a line with an id changes (quantity 0 removes it), a line
    without one is added."""
    clean = _check_order(payload, creating=False)
    products = _check_references(store, clean)
    now = _now()
    with transaction.atomic():
        order = _order(store, order_id, lock=True)
        current = {row.object_id: row for row in _lines(store).filter(parent_id=order_id)}
        changes = clean.get("products", [])
        problems: dict[str, str] = {}
        for index, line in enumerate(changes):
            if "id" in line and line["id"] not in current:
                problems[f"products.{index}.id"] = f"is not a product of order {order_id}"
            elif "id" not in line and not line.get("quantity"):
                problems[f"products.{index}.quantity"] = "is required for a new order product"
            elif "id" not in line and not line.get("product_id"):
                for name in ("name", "price_ex_tax", "price_inc_tax"):
                    if name not in line:
                        problems[f"products.{index}.{name}"] = (
                            "is required for a product that is not in the catalog"
                        )
        if problems:
            raise v2_invalid(problems)
        new_lines = [line for line in changes if "id" not in line]
        new_addresses = len(clean.get("shipping_addresses", []))
        ids = (
            store.allocate_ids(len(new_lines) + new_addresses) if new_lines or new_addresses else []
        )
        order.data = dict(order.data)
        _apply(order, clean, ids)
        for line in changes:
            if "id" not in line:
                continue
            row = current[line["id"]]
            if line.get("quantity") == 0:
                row.delete()
                del current[line["id"]]
                continue
            for name in ("quantity", "name", "sku"):
                if name in line:
                    row.data[name] = line[name]
            for name in ("price_ex_tax", "price_inc_tax"):
                if name in line:
                    row.data[name] = str(line[name])
            row.date_modified = now
            row.save(update_fields=["data", "date_modified"])
        added = [
            SandboxObject(
                store=store,
                resource=LINE,
                object_id=ids.pop(0),
                parent_id=order_id,
                data=_new_line(line, products),
                date_created=now,
                date_modified=now,
            )
            for line in new_lines
        ]
        SandboxObject.objects.bulk_create(added)
        order.date_modified = now
        order.save(update_fields=["parent_id", "name", "data", "date_modified"])
        notify(store, ORDER, "updated", [order_id])
    lines = sorted([*current.values(), *added], key=lambda row: row.object_id)
    return order_json(order, lines, base)


def archive_order(store: SandboxStore, order_id: int) -> None:
    with transaction.atomic():
        order = _order(store, order_id, lock=True)
        order.data = {**order.data, "is_deleted": True}
        order.date_modified = _now()
        order.save(update_fields=["data", "date_modified"])
        notify(store, ORDER, "archived", [order_id])


# --- reads ---------------------------------------------------------------------------------


def _filtered(store: SandboxStore, query: QueryDict) -> QuerySet[SandboxObject]:
    problems: dict[str, str] = {}
    qs = _orders(store)

    def number(name: str) -> int | None:
        text = query[name].strip()
        if not text.isdigit():
            problems[name] = "must be an integer"
            return None
        return int(text)

    for name, lookup in (
        ("min_id", "object_id__gte"),
        ("max_id", "object_id__lte"),
        ("customer_id", "parent_id"),
        ("status_id", "data__status_id"),
    ):
        if name in query and (value := number(name)) is not None:
            qs = qs.filter(**{lookup: value})
    if "external_order_id" in query:
        qs = qs.filter(name=query["external_order_id"])
    if "email" in query:
        qs = qs.filter(data__billing_address__email__iexact=query["email"])
    for name, lookup in (
        ("min_date_created", "date_created__gte"),
        ("max_date_created", "date_created__lte"),
        ("min_date_modified", "date_modified__gte"),
        ("max_date_modified", "date_modified__lte"),
    ):
        if name in query:
            at = parse_moment(query[name])
            if at is None:
                problems[name] = "must be a date in RFC 2822 or ISO 8601"
            else:
                qs = qs.filter(**{lookup: at})
    archived = query.get("is_deleted", "false").lower() in ("1", "true")
    qs = qs.filter(data__is_deleted=archived)
    if problems:
        raise v2_invalid(problems)
    return qs


def v2_paging(query: QueryDict, default: int = DEFAULT_LIMIT) -> tuple[int, int]:
    problems: dict[str, str] = {}
    values = {}
    for name, fallback in (("page", 1), ("limit", default)):
        text = query.get(name, str(fallback)).strip()
        if not text.isdigit():
            problems[name] = "must be a positive integer"
        values[name] = int(text) if text.isdigit() else fallback
    if problems:
        raise v2_invalid(problems)
    return max(1, values["page"]), max(1, min(values["limit"], MAX_LIMIT))


def _ordering(query: QueryDict) -> list[str]:
    sort = query.get("sort", "id")
    field, _, direction = sort.partition(":")
    if field not in SORTS or direction not in ("", "asc", "desc"):
        raise v2_invalid({"sort": f"must be one of {', '.join(SORTS)} (with :asc or :desc)"})
    sign = "-" if direction == "desc" else ""
    column = SORTS[field]
    return [sign + column] if column == "object_id" else [sign + column, sign + "object_id"]


def list_orders(store: SandboxStore, query: QueryDict, base: str) -> list[dict[str, Any]]:
    qs = _filtered(store, query)
    page, limit = v2_paging(query)
    start = (page - 1) * limit
    rows = list(qs.order_by(*_ordering(query))[start : start + limit])
    lines = _lines_by_order(store, [row.object_id for row in rows])
    return [order_json(row, lines.get(row.object_id, []), base) for row in rows]


def count_orders(store: SandboxStore, query: QueryDict) -> dict[str, Any]:
    qs = _filtered(store, query)
    by_status: dict[int, int] = defaultdict(int)
    for status_id in qs.values_list("data__status_id", flat=True):
        by_status[int(status_id or 0)] += 1
    return {
        "statuses": [
            {
                "id": status_id,
                "name": name,
                "system_label": name,
                "custom_label": name,
                "count": by_status.get(status_id, 0),
            }
            for status_id, name in STATUSES.items()
        ],
        "count": sum(by_status.values()),
    }


def get_order(store: SandboxStore, order_id: int, base: str) -> dict[str, Any]:
    order = _order(store, order_id)
    return order_json(order, _lines_by_order(store, [order_id]).get(order_id, []), base)


def list_lines(store: SandboxStore, order_id: int, query: QueryDict) -> list[dict[str, Any]]:
    order = _order(store, order_id)
    page, limit = v2_paging(query)
    rows = list(_lines(store).filter(parent_id=order_id).order_by("object_id"))
    return [line_json(row, order) for row in rows[(page - 1) * limit : page * limit]]


def list_shipping_addresses(
    store: SandboxStore, order_id: int, query: QueryDict, base: str
) -> list[dict[str, Any]]:
    order = _order(store, order_id)
    page, limit = v2_paging(query)
    items = sum(row.data["quantity"] for row in _lines(store).filter(parent_id=order_id))
    addresses = order.data.get("shipping_addresses", [])
    return [
        shipping_address_json(order, address, items, base)
        for address in addresses[(page - 1) * limit : page * limit]
    ]


def list_statuses() -> list[dict[str, Any]]:
    return [
        {
            "id": status_id,
            "name": name,
            "system_label": name,
            "custom_label": name,
            "order": status_id,
        }
        for status_id, name in STATUSES.items()
    ]


def base_url(path: str, build: Any) -> str:
    """The v2 root of this store as absolute URL (for the products/addresses links)."""
    return build(path.split("/v2/", 1)[0] + "/v2")
