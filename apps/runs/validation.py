"""Whether a canonical record can be migrated: the reasons it cannot, or none.

A record with a reason fails alone (RecordOutcome "failed", the reasons joined); the rest of its
batch goes on.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

from django.core.exceptions import ValidationError
from django.core.validators import validate_email

from apps.stores.connectors.canonical import ORDER_STATUSES

MAX_PRICE = Decimal("1000000")
# Clocks differ and time zones confuse exports; a day of slack before "in the future".
FUTURE_SLACK = timedelta(days=1)
MAX_TEXT = 500_000  # characters: larger descriptions are refused by the targets anyway


def _money(label: str, value: Any, problems: list[str], *, required: bool = False) -> None:
    if value is None:
        if required:
            problems.append(f"{label} is missing")
        return
    amount = Decimal(str(value))
    if amount < 0:
        problems.append(f"{label} is negative ({value})")
    elif amount > MAX_PRICE:
        problems.append(f"{label} {value} is above the sanity limit {MAX_PRICE}")


def _required(record: dict[str, Any], field: str, label: str, problems: list[str]) -> None:
    if not str(record.get(field) or "").strip():
        problems.append(f"{label} is missing")


def _text_size(record: dict[str, Any], fields: tuple[str, ...], problems: list[str]) -> None:
    for field in fields:
        if len(record.get(field) or "") > MAX_TEXT:
            problems.append(f"{field} is longer than {MAX_TEXT:,} characters")


def _category(record: dict[str, Any]) -> list[str]:
    problems: list[str] = []
    _required(record, "name", "category name", problems)
    return problems


def _brand(record: dict[str, Any]) -> list[str]:
    problems: list[str] = []
    _required(record, "name", "brand name", problems)
    return problems


def _product(record: dict[str, Any]) -> list[str]:
    problems: list[str] = []
    if not (record.get("sku") or "").strip():
        problems.append("product has no SKU (the SKU is its natural key on the target)")
    if not (record.get("name") or "").strip():
        problems.append("product has no name")
    _money("price", record.get("price"), problems, required=True)
    _money("sale price", record.get("sale_price"), problems)
    _text_size(record, ("description",), problems)
    seen = {record.get("sku")}
    for index, variant in enumerate(record.get("variants") or [], start=1):
        sku = (variant.get("sku") or "").strip()
        if not sku:
            problems.append(f"variant {index} has no SKU")
        elif sku in seen:
            problems.append(f"variant {index} repeats SKU {sku!r}")
        seen.add(sku)
        _money(f"variant {sku or index} price", variant.get("price"), problems)
        _money(f"variant {sku or index} sale price", variant.get("sale_price"), problems)
    return problems


def _customer(record: dict[str, Any]) -> list[str]:
    problems: list[str] = []
    email = (record.get("email") or "").strip()
    if not email:
        problems.append("customer has no email (the email is its natural key on the target)")
    else:
        try:
            validate_email(email)
        except ValidationError:
            problems.append(f"email {email!r} is not a valid address")
    return problems


def _order(record: dict[str, Any]) -> list[str]:
    problems: list[str] = []
    _required(record, "reference", "order reference", problems)
    if record.get("status") not in ORDER_STATUSES:
        problems.append(f"order status {record.get('status')!r} is unknown")
    for field in ("subtotal", "shipping_total", "tax_total", "discount_total", "total"):
        _money(field.replace("_", " "), record.get(field), problems)
    for index, line in enumerate(record.get("lines") or [], start=1):
        quantity = line.get("quantity")
        if not isinstance(quantity, int) or quantity <= 0:
            problems.append(f"line {index} quantity {quantity!r} is not a positive number")
        _money(f"line {index} price", line.get("price"), problems)
    created = record.get("created_at")
    if created:
        try:
            when = datetime.fromisoformat(str(created).replace("Z", "+00:00"))
        except ValueError:
            problems.append(f"order date {created!r} is not a date")
        else:
            if when.tzinfo is None:
                when = when.replace(tzinfo=UTC)
            if when > datetime.now(UTC) + FUTURE_SLACK:
                problems.append(f"order date {created} is in the future")
    return problems


def _post(record: dict[str, Any]) -> list[str]:
    problems: list[str] = []
    _required(record, "slug", "post slug", problems)
    _required(record, "title", "post title", problems)
    _text_size(record, ("body",), problems)
    return problems


VALIDATORS: dict[str, Callable[[dict[str, Any]], list[str]]] = {
    "categories": _category,
    "brands": _brand,
    "products": _product,
    "customers": _customer,
    "orders": _order,
    "posts": _post,
}


def _undecodable(value: Any, where: str, found: list[str]) -> None:
    if isinstance(value, str):
        if "\ufffd" in value:
            found.append(where or "a value")
    elif isinstance(value, list):
        for index, item in enumerate(value):
            _undecodable(item, f"{where}[{index}]", found)
    elif isinstance(value, dict):
        for key, item in value.items():
            _undecodable(item, f"{where}.{key}" if where else str(key), found)


def problems(entity: str, record: dict[str, Any]) -> list[str]:
    validator = VALIDATORS.get(entity)
    found = validator(record) if validator else []
    garbled: list[str] = []
    _undecodable(record, "", garbled)
    if garbled:
        # The source sent bytes that are not UTF-8 (decoded as U+FFFD): migrating them would
        # write the replacement character for good; the merchant fixes the text at the source.
        found.append(f"{', '.join(garbled[:3])} holds text that is not valid UTF-8 (shown as �)")
    return found
