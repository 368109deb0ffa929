"""Argument checks for product and variation payloads, in WordPress's words.

WordPress validates a request against the endpoint's JSON schema before WooCommerce sees it:
a string field given a number fails ("regular_price is not of type string."), an integer field
accepts "5", a boolean accepts "true" / "0". Every problem of one payload is reported at once
(`rest_invalid_param` with a `params` map), as WordPress does. Unknown and read-only fields are
ignored, also as WordPress does.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from apps.sandbox.woocommerce.errors import WCError, invalid_params

PRODUCT_TYPES = ("simple", "grouped", "external", "variable")
PRODUCT_STATUSES = ("draft", "pending", "private", "publish", "future")
VARIATION_STATUSES = ("draft", "pending", "private", "publish")
STOCK_STATUSES = ("instock", "outofstock", "onbackorder")
BACKORDERS = ("no", "notify", "yes")
TAX_STATUSES = ("taxable", "shipping", "none")
VISIBILITIES = ("visible", "catalog", "search", "hidden")

SKU_MAX_LENGTH = 255

_INTEGER = re.compile(r"^-?\d+$")
_MISSING = object()


class Checker:
    """Collects every invalid parameter of one payload; `raise_if_invalid` reports them."""

    def __init__(self) -> None:
        self.errors: dict[str, str] = {}

    def fail(self, param: str, message: str) -> Any:
        self.errors.setdefault(param, message)
        return _MISSING

    def raise_if_invalid(self) -> None:
        if self.errors:
            raise invalid_params(self.errors)

    def string(self, param: str, value: Any) -> Any:
        if isinstance(value, str):
            return value
        return self.fail(param, f"{param} is not of type string.")

    def integer(self, param: str, value: Any, *, nullable: bool = False) -> Any:
        if value is None and nullable:
            return None
        if isinstance(value, int) and not isinstance(value, bool):
            return value
        if isinstance(value, float) and value.is_integer():
            return int(value)
        if isinstance(value, str) and _INTEGER.match(value.strip()):
            return int(value.strip())
        kind = "integer,null" if nullable else "integer"
        return self.fail(param, f"{param} is not of type {kind}.")

    def boolean(self, param: str, value: Any) -> Any:
        if isinstance(value, bool):
            return value
        # rest_is_boolean(): these spellings are booleans to WordPress.
        if value in ("true", "1", 1):
            return True
        if value in ("false", "0", "", 0):
            return False
        return self.fail(param, f"{param} is not of type boolean.")

    def enum(self, param: str, value: Any, choices: tuple[str, ...]) -> Any:
        if self.string(param, value) is _MISSING:
            return _MISSING
        if value not in choices:
            return self.fail(param, f"{param} is not one of {', '.join(choices)}.")
        return value

    def array(self, param: str, value: Any) -> list[Any] | Any:
        if isinstance(value, list):
            return value
        return self.fail(param, f"{param} is not of type array.")

    def obj(self, param: str, value: Any) -> dict[str, Any] | Any:
        if isinstance(value, dict):
            return value
        return self.fail(param, f"{param} is not of type object.")

    def fields(
        self, prefix: str, value: dict[str, Any], spec: dict[str, FieldCheck]
    ) -> dict[str, Any]:
        """The fields of `value` named in `spec`, checked and normalised; others dropped."""
        clean: dict[str, Any] = {}
        for name, check in spec.items():
            if name not in value:
                continue
            param = f"{prefix}[{name}]" if prefix else name
            result = check(self, param, value[name])
            if result is not _MISSING:
                clean[name] = result
        return clean


FieldCheck = Callable[[Checker, str, Any], Any]


def _string(c: Checker, p: str, v: Any) -> Any:
    return c.string(p, v)


def _sku(c: Checker, p: str, v: Any) -> Any:
    # wc_clean(): surrounding whitespace never reaches the database.
    value = c.string(p, v)
    if not isinstance(value, str):
        return value
    if len(value.strip()) > SKU_MAX_LENGTH:
        # The sandbox's column limit; WooCommerce itself has none worth hitting.
        return c.fail(p, f"{p} is longer than {SKU_MAX_LENGTH} characters.")
    return value.strip()


def _integer(c: Checker, p: str, v: Any) -> Any:
    return c.integer(p, v)


def _nullable_integer(c: Checker, p: str, v: Any) -> Any:
    return c.integer(p, v, nullable=True)


def _boolean(c: Checker, p: str, v: Any) -> Any:
    return c.boolean(p, v)


def _enum(choices: tuple[str, ...]) -> FieldCheck:
    return lambda c, p, v: c.enum(p, v, choices)


def _list_of(item_spec: dict[str, FieldCheck], required: Callable[[dict], str] | None = None):
    def check(c: Checker, p: str, v: Any) -> Any:
        items = c.array(p, v)
        if items is _MISSING:
            return _MISSING
        clean = []
        for index, item in enumerate(items):
            param = f"{p}[{index}]"
            if c.obj(param, item) is _MISSING:
                continue
            entry = c.fields(param, item, item_spec)
            problem = required(entry) if required else ""
            if problem:
                c.fail(param, f"{param} {problem}")
            clean.append(entry)
        return clean

    return check


def _string_list(c: Checker, p: str, v: Any) -> Any:
    items = c.array(p, v)
    if items is _MISSING:
        return _MISSING
    return [c.string(f"{p}[{i}]", item) for i, item in enumerate(items)]


def _object(spec: dict[str, FieldCheck], *, nullable: bool = False) -> FieldCheck:
    def check(c: Checker, p: str, v: Any) -> Any:
        if v is None and nullable:
            return None
        if c.obj(p, v) is _MISSING:
            return _MISSING
        return c.fields(p, v, spec)

    return check


_TERM = {"id": _integer, "name": _string, "slug": _string}
_IMAGE = {"id": _integer, "src": _string, "name": _string, "alt": _string}
_DIMENSIONS = {"length": _string, "width": _string, "height": _string}
_ATTRIBUTE = {
    "id": _integer,
    "name": _string,
    "position": _integer,
    "visible": _boolean,
    "variation": _boolean,
    "options": _string_list,
}
_CHOSEN_ATTRIBUTE = {"id": _integer, "name": _string, "option": _string}
_META = {"key": _string, "value": lambda c, p, v: v}


def _needs_id(entry: dict) -> str:
    return "" if entry.get("id") else "needs an id."


def _needs_id_or_src(entry: dict) -> str:
    return "" if entry.get("id") or entry.get("src") else "needs an id or a src."


def _needs_id_or_name(entry: dict) -> str:
    return "" if entry.get("id") or (entry.get("name") or "").strip() else "needs an id or a name."


def _needs_key(entry: dict) -> str:
    return "" if (entry.get("key") or "").strip() else "needs a key."


_COMMON: dict[str, FieldCheck] = {
    "description": _string,
    "sku": _sku,
    "regular_price": _string,
    "sale_price": _string,
    "virtual": _boolean,
    "downloadable": _boolean,
    "tax_status": _enum(TAX_STATUSES),
    "tax_class": _string,
    "manage_stock": _boolean,
    "stock_quantity": _nullable_integer,
    "stock_status": _enum(STOCK_STATUSES),
    "backorders": _enum(BACKORDERS),
    "low_stock_amount": _nullable_integer,
    "weight": _string,
    "dimensions": _object(_DIMENSIONS),
    "shipping_class": _string,
    "menu_order": _integer,
    "meta_data": _list_of(_META, _needs_key),
}

PRODUCT_SPEC: dict[str, FieldCheck] = {
    **_COMMON,
    "name": _string,
    "slug": _string,
    "type": _enum(PRODUCT_TYPES),
    "status": _enum(PRODUCT_STATUSES),
    "featured": _boolean,
    "catalog_visibility": _enum(VISIBILITIES),
    "short_description": _string,
    "sold_individually": _boolean,
    "reviews_allowed": _boolean,
    "purchase_note": _string,
    "categories": _list_of(_TERM, _needs_id),
    # WooCommerce 9.6+ core brands (taxonomy product_brand), assigned like categories.
    "brands": _list_of(_TERM, _needs_id),
    "tags": _list_of(_TERM, _needs_id),
    "images": _list_of(_IMAGE, _needs_id_or_src),
    "attributes": _list_of(_ATTRIBUTE, _needs_id_or_name),
    "default_attributes": _list_of(_CHOSEN_ATTRIBUTE, _needs_id_or_name),
}

VARIATION_SPEC: dict[str, FieldCheck] = {
    **_COMMON,
    "status": _enum(VARIATION_STATUSES),
    "image": _object(_IMAGE, nullable=True),
    "attributes": _list_of(_CHOSEN_ATTRIBUTE, _needs_id_or_name),
}


def check_payload(payload: Any, spec: dict[str, FieldCheck]) -> dict[str, Any]:
    """The writable fields of a payload, normalised; WCError (rest_invalid_param) if any fails."""
    if not isinstance(payload, dict):
        raise WCError(
            "rest_invalid_param",
            "Invalid parameter(s): body",
            400,
            params={"body": "The item is not of type object."},
        )
    checker = Checker()
    clean = checker.fields("", payload, spec)
    checker.raise_if_invalid()
    return clean


def check_id(value: Any) -> int | None:
    """A positive integer id from a payload or URL, or None."""
    checker = Checker()
    result = checker.integer("id", value)
    if result is _MISSING or result <= 0:
        return None
    return result


# --- building blocks for the other resources' specs ------------------------------------------

STRING = _string
INTEGER = _integer
NULLABLE_INTEGER = _nullable_integer
BOOLEAN = _boolean
enum = _enum
list_of = _list_of
obj = _object
META = _META
IMAGE = _IMAGE
needs_key = _needs_key
TERM_DISPLAYS = ("default", "products", "subcategories", "both")
# is_email(), roughly: something@domain.tld without spaces.
_EMAIL = re.compile(r"^[A-Za-z0-9.!#$%&'*+/=?^_`{|}~-]+@[A-Za-z0-9-]+(\.[A-Za-z0-9-]+)+$")
_MONEY = re.compile(r"^-?\d+(\.\d+)?$")


def is_email(value: str) -> bool:
    return bool(_EMAIL.match(value))


def email(c: Checker, p: str, v: Any) -> Any:
    """An email argument (format: email): sanitized (trimmed), then checked."""
    value = c.string(p, v)
    if not isinstance(value, str):
        return value
    value = value.strip()
    if not is_email(value):
        return c.fail(p, "Invalid email address.")
    return value


def optional_email(c: Checker, p: str, v: Any) -> Any:
    """An address's email: empty is allowed (guest orders without one), otherwise checked."""
    value = c.string(p, v)
    if not isinstance(value, str) or not value.strip():
        return value if not isinstance(value, str) else ""
    return email(c, p, value)


def money(c: Checker, p: str, v: Any) -> Any:
    """A money argument: a string holding a decimal number ("12.50")."""
    value = c.string(p, v)
    if not isinstance(value, str):
        return value
    if value.strip() == "":
        return ""
    if not _MONEY.match(value.strip()):
        return c.fail(p, f"{p} is not a decimal number.")
    return value.strip()


def date(c: Checker, p: str, v: Any) -> Any:
    """A date-time argument as rest_parse_date() reads it; None clears it."""
    if v is None:
        return None
    value = c.string(p, v)
    if not isinstance(value, str):
        return value
    if not re.match(r"^\d{4}-\d{2}-\d{2}[Tt ]\d{2}:\d{2}:\d{2}", value.strip()):
        return c.fail(p, f"{p} is not a valid date.")
    return value.strip()


def raw_text(c: Checker, p: str, v: Any) -> Any:
    """WordPress's title / content / excerpt: a string, or an object with `raw`."""
    if isinstance(v, dict):
        v = v.get("raw", "")
    return c.string(p, v)


def id_array(c: Checker, p: str, v: Any) -> Any:
    items = c.array(p, v)
    if items is _MISSING:
        return _MISSING
    return [c.integer(f"{p}[{i}]", item) for i, item in enumerate(items)]


def string_array(c: Checker, p: str, v: Any) -> Any:
    return _string_list(c, p, v)


_ADDRESS = {
    "first_name": _string,
    "last_name": _string,
    "company": _string,
    "address_1": _string,
    "address_2": _string,
    "city": _string,
    "state": _string,
    "postcode": _string,
    "country": _string,
    "phone": _string,
}
BILLING = {**_ADDRESS, "email": optional_email}
SHIPPING = dict(_ADDRESS)
ADDRESS_FIELDS = tuple(_ADDRESS)
