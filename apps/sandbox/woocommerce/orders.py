"""wc/v3 orders: line items linked to products, addresses, status, money totals, meta data.

Rows: resource "order", `parent_id` = customer_id (0 for guests; the `customer` filter uses it —
the sandbox does not emulate refunds, the orders that really have a parent), `name` = a search
index of the number, billing and shipping names, emails and meta values (WooCommerce itself
keeps `_billing_address_index` / `_shipping_address_index` for the same purpose), dates = the
order's dates (`after` / `before` / `modified_after` / `modified_before` use them).

Totals are derived as WooCommerce's calculate_totals() does, from what a sandbox can know:
line price = total / quantity, discount_total = Σ(line subtotal - line total), shipping_total =
Σ shipping lines, total_tax = Σ line and shipping taxes, total = Σ line totals + shipping +
tax. Not emulated (and allowed instead, so historical orders can be written):
- tax rates: line `subtotal_tax` / `total_tax` and shipping `total_tax` are taken as given;
- `date_created` / `date_created_gmt` on create (read-only in WooCommerce's schema; a real
  target needs a `woocommerce_rest_pre_insert_shop_order_object` hook to keep them);
- a line with neither a product that exists nor a SKU stays a name-only line (WooCommerce
  refuses it with woocommerce_rest_required_product_reference);
- coupons, fees, refunds, stock reduction, emails.
A line's SKU resolves first (to a product or variation, as WooCommerce's get_product_id()
does), then product_id / variation_id; a line linked to nothing keeps product_id 0 and sku null.
"""

from __future__ import annotations

import hashlib
from datetime import datetime
from decimal import Decimal
from typing import Any

from django.db.models import F, QuerySet

from apps.sandbox.models import SandboxObject, SandboxStore
from apps.sandbox.woocommerce import schema
from apps.sandbox.woocommerce.customers import CUSTOMER, empty_address, mark_paying
from apps.sandbox.woocommerce.errors import WCError, invalid_params
from apps.sandbox.woocommerce.listing import ListSpec, integer, parse_date, values
from apps.sandbox.woocommerce.records import wp_date
from apps.sandbox.woocommerce.resources import (
    Change,
    Checked,
    ResourceStore,
    Result,
    merge_meta,
    stamp_dates,
)
from apps.sandbox.woocommerce.store import IdPool

ORDER = "order"
STATUSES = (
    "pending",
    "processing",
    "on-hold",
    "completed",
    "cancelled",
    "refunded",
    "failed",
    "checkout-draft",
    "trash",
)
PAID = ("processing", "completed")
CENTS = Decimal("0.01")
STORE_CURRENCY = "USD"
SYMBOLS = {"USD": "$", "EUR": "€", "GBP": "£", "CAD": "$", "AUD": "$"}

LINE_SPEC: dict[str, schema.FieldCheck] = {
    "id": schema.INTEGER,
    "name": schema.STRING,
    "product_id": schema.NULLABLE_INTEGER,
    "variation_id": schema.NULLABLE_INTEGER,
    "quantity": schema.INTEGER,
    "tax_class": schema.STRING,
    "subtotal": schema.money,
    "subtotal_tax": schema.money,
    "total": schema.money,
    "total_tax": schema.money,
    "sku": schema.STRING,
    "meta_data": schema.list_of(schema.META, schema.needs_key),
}
SHIPPING_LINE_SPEC: dict[str, schema.FieldCheck] = {
    "id": schema.INTEGER,
    "method_title": schema.STRING,
    "method_id": lambda c, p, v: None if v is None else c.string(p, v),
    "instance_id": schema.STRING,
    "total": schema.money,
    "total_tax": schema.money,
}

ORDER_SPEC: dict[str, schema.FieldCheck] = {
    "status": schema.enum(STATUSES),
    "currency": schema.STRING,
    "customer_id": schema.INTEGER,
    "customer_note": schema.STRING,
    "billing": schema.obj(schema.BILLING),
    "shipping": schema.obj(schema.SHIPPING),
    "payment_method": schema.STRING,
    "payment_method_title": schema.STRING,
    "transaction_id": schema.STRING,
    "set_paid": schema.BOOLEAN,
    "meta_data": schema.list_of(schema.META, schema.needs_key),
    "line_items": schema.list_of(LINE_SPEC),
    "shipping_lines": schema.list_of(SHIPPING_LINE_SPEC),
    "date_created": schema.date,
    "date_created_gmt": schema.date,
}


# What an import from an older system holds: addresses' emails are taken as they are.
LEGACY_ORDER_SPEC = {
    **ORDER_SPEC,
    "billing": schema.obj({**schema.BILLING, "email": schema.STRING}),
}


def _order_filters(params: Any, errors: dict[str, str]) -> dict[str, Any]:
    filters: dict[str, Any] = {}
    statuses = values(params, "status") or ["any"]
    wrong = [s for s in statuses if s != "any" and s not in STATUSES]
    if wrong:
        errors["status"] = f"status[0] is not one of any, {', '.join(STATUSES)}."
    filters["statuses"] = statuses
    if params.get("customer") not in (None, ""):
        filters["customer"] = integer(params, "customer", None, errors)
    integer(params, "dp", 2, errors)  # accepted; money is always answered with 2 decimals
    return filters


def _order_apply(qs: QuerySet, filters: dict[str, Any]) -> QuerySet:
    statuses = filters.get("statuses") or ["any"]
    if "any" in statuses:
        # "any" is every status a shop lists: trash and checkout drafts stay out.
        qs = qs.exclude(data__status__in=["trash", "checkout-draft"])
    else:
        qs = qs.filter(data__status__in=statuses)
    if filters.get("customer") is not None:
        qs = qs.filter(parent_id=filters["customer"])
    return qs


ORDER_LIST = ListSpec(
    orderby=("date", "id", "include", "title", "slug", "modified"),
    order_columns={
        "date": lambda: F("date_created"),
        "id": lambda: F("object_id"),
        "modified": lambda: F("date_modified"),
    },
    unsupported=("product", "parent", "parent_exclude", "created_via"),
    parse=_order_filters,
    apply=_order_apply,
)


def _money(value: Any) -> Decimal:
    if value in (None, ""):
        return Decimal("0")
    return Decimal(str(value))


def fmt(amount: Decimal) -> str:
    return str(amount.quantize(CENTS))


def _number(amount: Decimal) -> int | float:
    # WooCommerce answers a line's price as a JSON number (a PHP float).
    return int(amount) if amount == amount.to_integral_value() else float(amount)


def order_key(slug: str, object_id: int) -> str:
    digest = hashlib.sha256(f"{slug}:{object_id}".encode()).hexdigest()
    return f"wc_order_{digest[:13]}"


def search_index(data: dict[str, Any]) -> str:
    billing, shipping = data["billing"], data["shipping"]
    parts = [
        data["number"],
        billing.get("email", ""),
        billing.get("first_name", ""),
        billing.get("last_name", ""),
        billing.get("company", ""),
        shipping.get("first_name", ""),
        shipping.get("last_name", ""),
        *(str(m.get("value")) for m in data.get("meta_data") or [] if m.get("value") is not None),
    ]
    return " ".join(p for p in parts if p)[:500]


def unknown_order(status: int = 404) -> WCError:
    return WCError("woocommerce_rest_shop_order_invalid_id", "Invalid ID.", status)


class OrderStore(ResourceStore):
    resource = ORDER
    spec = ORDER_SPEC
    rest_base = "orders"

    def __init__(
        self, sandbox: SandboxStore, now: datetime | None = None, *, legacy: bool = False
    ) -> None:
        super().__init__(sandbox, now)
        if legacy:
            self.spec = LEGACY_ORDER_SPEC

    def invalid_id(self, status: int = 404) -> WCError:
        return unknown_order(status)

    def exists_error(self) -> WCError:
        return WCError(
            "woocommerce_rest_shop_order_exists", "Cannot create existing shop_order.", 400
        )

    # --- products and customers the lines and orders point at --------------------------------

    def _catalog(self, fields_list: list[dict[str, Any]]) -> dict[str, dict]:
        """The products and variations the lines name, by id and by SKU (two queries)."""
        skus, ids = set(), set()
        for fields in fields_list:
            for line in fields.get("line_items") or []:
                if line.get("sku"):
                    skus.add(line["sku"])
                for key in ("product_id", "variation_id"):
                    if line.get(key):
                        ids.add(line[key])
        by_id: dict[int, dict] = {}
        by_sku: dict[str, dict] = {}
        qs = SandboxObject.objects.filter(store=self.sandbox, resource__in=["product", "variation"])
        if ids:
            for data in qs.filter(object_id__in=ids).values_list("data", flat=True):
                by_id[data["id"]] = data
        if skus:
            for data in qs.filter(sku__in=skus).values_list("data", flat=True):
                by_sku[data["sku"]] = data
                by_id[data["id"]] = data
        parents = {d["parent_id"] for d in by_id.values() if d.get("type") == "variation"} - set(
            by_id
        )
        if parents:
            for data in qs.filter(object_id__in=parents).values_list("data", flat=True):
                by_id[data["id"]] = data
        return {"id": by_id, "sku": by_sku}

    def _known_customers(self, fields_list: list[dict[str, Any]]) -> set[int]:
        wanted = {f["customer_id"] for f in fields_list if f.get("customer_id")}
        if not wanted:
            return set()
        rows = SandboxObject.objects.filter(
            store=self.sandbox, resource=CUSTOMER, object_id__in=wanted
        )
        return set(rows.values_list("object_id", flat=True))

    def _check_common(
        self, checked: Checked, results: list[Result | None], *, creating: bool
    ) -> Checked:
        customers = self._known_customers([f for _, f in checked])
        kept: Checked = []
        for index, fields in checked:
            problem = None
            if fields.get("customer_id") and fields["customer_id"] not in customers:
                problem = WCError(
                    "woocommerce_rest_invalid_customer_id", "Customer ID is invalid.", 400
                )
            for line in fields.get("line_items") or []:
                quantity = line.get("quantity")
                removing = line.get("id") and (quantity == 0 or line.get("product_id", 1) is None)
                if quantity is not None and quantity <= 0 and not removing:
                    problem = WCError(
                        "woocommerce_rest_invalid_product_quantity",
                        "Product quantity must be a positive float.",
                        400,
                    )
                if creating and line.get("id"):
                    problem = invalid_params({"line_items": "A new order's lines have no id."})
            currency = fields.get("currency")
            if currency is not None and not (len(currency) == 3 and currency.isupper()):
                problem = invalid_params({"currency": "currency is not a currency code."})
            if problem is None:
                kept.append((index, fields))
            else:
                results[index] = problem
        self.catalog = self._catalog([f for _, f in kept])
        return kept

    def check_creates(self, checked: Checked, results: list[Result | None]) -> Checked:
        return self._check_common(checked, results, creating=True)

    def check_updates(
        self, checked: Checked, rows: dict[int, SandboxObject], results: list[Result | None]
    ) -> Checked:
        return self._check_common(checked, results, creating=False)

    def ids_needed(self, fields: dict[str, Any], *, creating: bool) -> int:
        lines = fields.get("line_items") or []
        shipping = fields.get("shipping_lines") or []
        return int(creating) + sum(1 for item in [*lines, *shipping] if not item.get("id"))

    # --- records ---------------------------------------------------------------------------

    def _line(
        self, current: dict[str, Any] | None, given: dict[str, Any], pool: IdPool
    ) -> dict[str, Any]:
        line = (
            dict(current)
            if current
            else {
                "id": pool.take(),
                "name": "",
                "product_id": 0,
                "variation_id": 0,
                "quantity": 1,
                "tax_class": "",
                "subtotal": "0.00",
                "subtotal_tax": "0.00",
                "total": "0.00",
                "total_tax": "0.00",
                "taxes": [],
                "meta_data": [],
                "sku": None,
                "price": 0,
                "image": {"id": "", "src": ""},
                "parent_name": None,
            }
        )
        product = None
        if given.get("sku"):
            product = self.catalog["sku"].get(given["sku"])
        if product is None and given.get("variation_id"):
            product = self.catalog["id"].get(given["variation_id"])
        if product is None and given.get("product_id"):
            product = self.catalog["id"].get(given["product_id"])
        if "quantity" in given:
            line["quantity"] = given["quantity"]
        if product is not None:
            is_variation = product.get("type") == "variation"
            parent = self.catalog["id"].get(product["parent_id"]) if is_variation else None
            line["product_id"] = product["parent_id"] if is_variation else product["id"]
            line["variation_id"] = product["id"] if is_variation else 0
            line["sku"] = product.get("sku") or None
            line["parent_name"] = parent["name"] if parent else None
            if not given.get("name"):
                line["name"] = parent["name"] if parent else product.get("name", "")
            images = product.get("images") or ([product["image"]] if product.get("image") else [])
            if images:
                line["image"] = {"id": images[0]["id"], "src": images[0]["src"]}
            if "total" not in given and current is None:
                price = _money(product.get("price"))
                line["total"] = line["subtotal"] = fmt(price * line["quantity"])
        elif current is None:
            # Linked to nothing: kept by name (see the module docstring).
            line["product_id"] = line["variation_id"] = 0
        for name in ("name", "tax_class", "subtotal", "subtotal_tax", "total", "total_tax"):
            if name in given and given[name] != "":
                line[name] = (
                    fmt(_money(given[name])) if name not in ("name", "tax_class") else (given[name])
                )
        if "total" in given and "subtotal" not in given and current is None:
            line["subtotal"] = line["total"]
        if "meta_data" in given:
            line["meta_data"] = merge_meta(line["meta_data"], given["meta_data"])
        return line

    def _lines(self, current: list[dict], given: list[dict], pool: IdPool) -> list[dict]:
        """WooCommerce's line semantics: a known id updates that line (quantity 0 or
        product_id null removes it), a line without id is added, others stay."""
        lines = {line["id"]: line for line in current}
        order = [line["id"] for line in current]
        for item in given:
            if item.get("id") and item["id"] in lines:
                if item.get("quantity") == 0 or (
                    "product_id" in item and item["product_id"] is None
                ):
                    del lines[item["id"]]
                    order.remove(item["id"])
                else:
                    lines[item["id"]] = self._line(lines[item["id"]], item, pool)
            elif not item.get("id"):
                line = self._line(None, item, pool)
                lines[line["id"]] = line
                order.append(line["id"])
        return [lines[i] for i in order]

    @staticmethod
    def _shipping_lines(current: list[dict], given: list[dict], pool: IdPool) -> list[dict]:
        lines = {line["id"]: line for line in current}
        order = [line["id"] for line in current]
        for item in given:
            if item.get("id") and item["id"] in lines:
                if "method_id" in item and item["method_id"] is None:
                    del lines[item["id"]]
                    order.remove(item["id"])
                    continue
                line = lines[item["id"]]
            elif not item.get("id"):
                line = {
                    "id": pool.take(),
                    "method_title": "",
                    "method_id": "",
                    "instance_id": "",
                    "total": "0.00",
                    "total_tax": "0.00",
                    "taxes": [],
                    "meta_data": [],
                }
                lines[line["id"]] = line
                order.append(line["id"])
            else:
                continue
            for name in ("method_title", "method_id", "instance_id"):
                if name in item:
                    line[name] = item[name]
            for name in ("total", "total_tax"):
                if name in item and item[name] != "":
                    line[name] = fmt(_money(item[name]))
        return [lines[i] for i in order]

    def build(self, object_id: int, fields: dict[str, Any], pool: IdPool) -> dict[str, Any]:
        data: dict[str, Any] = {
            "id": object_id,
            "parent_id": 0,
            "number": str(object_id),
            "order_key": order_key(self.sandbox.slug, object_id),
            "created_via": "rest-api",
            "version": "9.6.0",
            "status": "pending",
            "currency": STORE_CURRENCY,
            "date_created": "",
            "date_created_gmt": "",
            "date_modified": "",
            "date_modified_gmt": "",
            "discount_total": "0.00",
            "discount_tax": "0.00",
            "shipping_total": "0.00",
            "shipping_tax": "0.00",
            "cart_tax": "0.00",
            "total": "0.00",
            "total_tax": "0.00",
            "prices_include_tax": False,
            "customer_id": 0,
            "customer_ip_address": "",
            "customer_user_agent": "",
            "customer_note": "",
            "billing": empty_address(billing=True),
            "shipping": empty_address(billing=False),
            "payment_method": "",
            "payment_method_title": "",
            "transaction_id": "",
            "date_paid": None,
            "date_paid_gmt": None,
            "date_completed": None,
            "date_completed_gmt": None,
            "cart_hash": "",
            "meta_data": [],
            "line_items": [],
            "tax_lines": [],
            "shipping_lines": [],
            "fee_lines": [],
            "coupon_lines": [],
            "refunds": [],
        }
        stamp_dates(data, self.now, created=True)
        given = fields.get("date_created_gmt") or fields.get("date_created")
        moment = parse_date(given) if given else None
        if moment is not None:
            data["date_created"] = data["date_created_gmt"] = wp_date(moment)
        return self.change(data, fields, pool)

    def change(
        self, current: dict[str, Any], fields: dict[str, Any], pool: IdPool
    ) -> dict[str, Any]:
        data = dict(current)
        previous_status = data["status"]
        for name, value in fields.items():
            if name in ("billing", "shipping"):
                data[name] = {**data[name], **value}
            elif name == "meta_data":
                data[name] = merge_meta(data.get("meta_data") or [], value)
            elif name == "line_items":
                data[name] = self._lines(data["line_items"], value, pool)
            elif name == "shipping_lines":
                data[name] = self._shipping_lines(data["shipping_lines"], value, pool)
            elif name in ("set_paid", "date_created", "date_created_gmt"):
                continue
            else:
                data[name] = value
        stamp = wp_date(self.now)
        if fields.get("set_paid"):
            data["date_paid"] = data["date_paid_gmt"] = stamp
            if data["status"] in ("pending", "failed", "on-hold"):
                data["status"] = "processing"
        if data["status"] in PAID and not data["date_paid"]:
            data["date_paid"] = data["date_paid_gmt"] = data["date_created_gmt"] or stamp
        if data["status"] == "completed" and previous_status != "completed":
            data["date_completed"] = data["date_completed_gmt"] = stamp
        self._totals(data)
        stamp_dates(data, self.now, created=False)
        return data

    def _totals(self, data: dict[str, Any]) -> None:
        lines, shipping = data["line_items"], data["shipping_lines"]
        for line in lines:
            quantity = line["quantity"] or 1
            line["price"] = _number((_money(line["total"]) / quantity).quantize(CENTS))
        line_total = sum((_money(line["total"]) for line in lines), Decimal("0"))
        subtotal = sum((_money(line["subtotal"]) for line in lines), Decimal("0"))
        cart_tax = sum((_money(line["total_tax"]) for line in lines), Decimal("0"))
        shipping_total = sum((_money(line["total"]) for line in shipping), Decimal("0"))
        shipping_tax = sum((_money(line["total_tax"]) for line in shipping), Decimal("0"))
        data["discount_total"] = fmt(subtotal - line_total)
        data["shipping_total"] = fmt(shipping_total)
        data["shipping_tax"] = fmt(shipping_tax)
        data["cart_tax"] = fmt(cart_tax)
        data["total_tax"] = fmt(cart_tax + shipping_tax)
        total = line_total + shipping_total + cart_tax + shipping_tax
        data["total"] = fmt(total)
        data["currency_symbol"] = SYMBOLS.get(data["currency"], data["currency"])
        data["needs_payment"] = data["status"] in ("pending", "failed") and total > 0
        data["needs_processing"] = True
        data["is_editable"] = data["status"] in ("pending", "on-hold", "checkout-draft")
        data["payment_url"] = (
            f"{self.site.store_url}/checkout/order-pay/{data['id']}/"
            f"?pay_for_order=true&key={data['order_key']}"
        )
        links = self.links(data["id"])
        if data["customer_id"]:
            links["customer"] = [{"href": f"{self.site.api_url}/customers/{data['customer_id']}"}]
        data["_links"] = links

    def columns(self, data: dict[str, Any]) -> dict[str, Any]:
        created = parse_date(data["date_created_gmt"])
        columns: dict[str, Any] = {"name": search_index(data), "parent_id": data["customer_id"]}
        if created is not None:
            columns["date_created"] = created
        return columns

    def conflict(self, row: SandboxObject) -> WCError:
        return WCError("woocommerce_rest_cannot_create", "Could not save the order.", 500)

    def after_write(self, changes: list[Change]) -> None:
        paying = {
            new["customer_id"]
            for old, new in changes
            if new is not None and new["customer_id"] and new["status"] in PAID
        }
        mark_paying(self, paying)

    # --- deletes: orders have a trash ------------------------------------------------------

    def delete(self, raw_ids: list[Any], *, force: bool = True) -> list[Result]:
        if force:
            return super().delete(raw_ids, force=True)
        results: list[Result] = []
        for raw in raw_ids:
            object_id = schema.check_id(raw)
            row = self.objects().filter(object_id=object_id).first() if object_id else None
            if row is None:
                results.append(self.invalid_id())
            elif row.data["status"] == "trash":
                results.append(
                    WCError(
                        "woocommerce_rest_already_trashed",
                        "The order has already been deleted.",
                        410,
                    )
                )
            else:
                results.append(self.update([{"id": row.object_id, "status": "trash"}])[0])
        return results
