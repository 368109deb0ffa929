"""Request-body checks for products and inline variants, collected per field.

Like the platform, a payload is refused whole (422) with every problem named by its path
("weight", "variants.1.price", "3.id" in a batch), and JSON types are strict: a price sent as
the string "12.50" is refused just as BigCommerce refuses it. Unknown and read-only fields
are ignored.
"""

from __future__ import annotations

import json
import math
from typing import Any

from django.http import HttpRequest

from apps.sandbox.bigcommerce.errors import invalid

MAX_NAME = 250
MAX_SKU = 255
MAX_CUSTOM_FIELD = 250
PRODUCT_TYPES = ("physical", "digital")
TRACKING = ("none", "product", "variant")
AVAILABILITY = ("available", "disabled", "preorder")
CONDITIONS = ("New", "Used", "Refurbished")

PRODUCT_NUMBERS = (
    "weight",
    "width",
    "depth",
    "height",
    "price",
    "cost_price",
    "retail_price",
    "sale_price",
    "map_price",
)
PRODUCT_INTEGERS = ("inventory_level", "inventory_warning_level", "brand_id", "tax_class_id")
PRODUCT_BOOLEANS = ("is_visible", "is_featured", "is_free_shipping")
PRODUCT_TEXTS = ("description", "product_tax_code", "warranty", "upc", "mpn", "gtin")
REQUIRED_ON_CREATE = ("name", "type", "weight", "price")

VARIANT_NUMBERS = ("price", "sale_price", "retail_price", "cost_price", "weight")
VARIANT_INTEGERS = ("inventory_level", "inventory_warning_level")


def parse_json(request: HttpRequest) -> Any:
    try:
        return json.loads(request.body or b"null")
    except (ValueError, UnicodeDecodeError):
        raise invalid({"body": "The request body is not valid JSON."}) from None


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)


def _is_integer(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _number(value: Any, path: str, errors: dict[str, str], *, nullable: bool) -> None:
    if value is None:
        if not nullable:
            errors[path] = "must be a number"
    elif not _is_number(value):
        errors[path] = "must be a number"
    elif value < 0:
        errors[path] = "must be zero or more"


def _integer(value: Any, path: str, errors: dict[str, str]) -> None:
    if not _is_integer(value):
        errors[path] = "must be an integer"
    elif value < 0:
        errors[path] = "must be zero or more"


def _text(value: Any, path: str, errors: dict[str, str], *, max_length: int | None = None) -> None:
    if not isinstance(value, str):
        errors[path] = "must be a string"
    elif max_length is not None and len(value) > max_length:
        errors[path] = f"must be at most {max_length} characters"


def _choice(value: Any, choices: tuple[str, ...], path: str, errors: dict[str, str]) -> None:
    if value not in choices:
        errors[path] = f"must be one of: {', '.join(choices)}"


def check_product(
    payload: Any, *, creating: bool, prefix: str = "", errors: dict[str, str]
) -> dict[str, Any]:
    """The writable fields of one product payload; problems go into `errors` by path."""
    if not isinstance(payload, dict):
        errors[prefix.rstrip(".") or "body"] = "must be a JSON object"
        return {}
    if creating:
        for name in REQUIRED_ON_CREATE:
            if name not in payload:
                errors[prefix + name] = "is required"
    clean: dict[str, Any] = {}
    for name, value in payload.items():
        path = prefix + name
        before = len(errors)
        if name == "name":
            _text(value, path, errors, max_length=MAX_NAME)
            if isinstance(value, str) and not value.strip():
                errors[path] = "must not be empty"
        elif name == "type":
            _choice(value, PRODUCT_TYPES, path, errors)
        elif name == "sku":
            _text(value, path, errors, max_length=MAX_SKU)
        elif name in PRODUCT_TEXTS:
            _text(value, path, errors)
        elif name in PRODUCT_NUMBERS:
            _number(value, path, errors, nullable=False)
        elif name in PRODUCT_INTEGERS:
            _integer(value, path, errors)
        elif name in PRODUCT_BOOLEANS:
            if not isinstance(value, bool):
                errors[path] = "must be a boolean"
        elif name == "inventory_tracking":
            _choice(value, TRACKING, path, errors)
        elif name == "availability":
            _choice(value, AVAILABILITY, path, errors)
        elif name == "condition":
            _choice(value, CONDITIONS, path, errors)
        elif name == "categories":
            if not isinstance(value, list) or not all(_is_integer(v) for v in value):
                errors[path] = "must be a list of integers"
        elif name == "custom_url":
            _custom_url(value, path, errors)
        elif name == "images":
            clean[name] = check_images(value, creating=creating, path=path, errors=errors)
            continue
        elif name == "custom_fields":
            clean[name] = check_custom_fields(value, creating=creating, path=path, errors=errors)
            continue
        elif name == "variants":
            clean[name] = check_variants(value, creating=creating, path=path, errors=errors)
            continue
        else:
            continue  # read-only or not emulated: ignored, as the platform ignores unknowns
        if len(errors) == before:
            clean[name] = value.strip() if name in ("name", "sku") else value
    return clean


def _custom_url(value: Any, path: str, errors: dict[str, str]) -> None:
    if not isinstance(value, dict):
        errors[path] = "must be an object with url and is_customized"
        return
    url = value.get("url")
    if not isinstance(url, str) or not url.startswith("/"):
        errors[path + ".url"] = "must be a path starting with /"
    if "is_customized" in value and not isinstance(value["is_customized"], bool):
        errors[path + ".is_customized"] = "must be a boolean"


def check_variants(
    value: Any, *, creating: bool, path: str, errors: dict[str, str]
) -> list[dict[str, Any]]:
    if not isinstance(value, list):
        errors[path] = "must be a list"
        return []
    variants = [
        _check_variant(item, creating=creating, path=f"{path}.{index}", errors=errors)
        for index, item in enumerate(value)
    ]
    _check_option_sets(variants, path, errors)
    return variants


def _check_variant(
    item: Any, *, creating: bool, path: str, errors: dict[str, str]
) -> dict[str, Any]:
    if not isinstance(item, dict):
        errors[path] = "must be a JSON object"
        return {}
    clean: dict[str, Any] = {}
    existing = not creating and "id" in item
    if "id" in item and not creating:
        if _is_integer(item["id"]):
            clean["id"] = item["id"]
        else:
            errors[path + ".id"] = "must be an integer"
    if "sku" in item:
        _text(item["sku"], path + ".sku", errors, max_length=MAX_SKU)
        if isinstance(item["sku"], str):
            clean["sku"] = item["sku"].strip()
    if not existing and not clean.get("sku"):
        errors[path + ".sku"] = "is required"
    for name in VARIANT_NUMBERS:
        if name in item:
            _number(item[name], f"{path}.{name}", errors, nullable=True)
            clean[name] = item[name]
    for name in VARIANT_INTEGERS:
        if name in item:
            _integer(item[name], f"{path}.{name}", errors)
            clean[name] = item[name]
    if "purchasing_disabled" in item:
        if isinstance(item["purchasing_disabled"], bool):
            clean["purchasing_disabled"] = item["purchasing_disabled"]
        else:
            errors[path + ".purchasing_disabled"] = "must be a boolean"
    if "option_values" in item or not existing:
        clean["option_values"] = _check_option_values(
            item.get("option_values"), path + ".option_values", errors
        )
    return clean


def _check_option_values(value: Any, path: str, errors: dict[str, str]) -> list[dict[str, Any]]:
    if not isinstance(value, list) or not value:
        errors[path] = "must not be empty"
        return []
    clean: list[dict[str, Any]] = []
    for index, entry in enumerate(value):
        here = f"{path}.{index}"
        if not isinstance(entry, dict):
            errors[here] = "must be a JSON object"
            continue
        name, label = entry.get("option_display_name"), entry.get("label")
        if isinstance(name, str) and name.strip() and isinstance(label, str) and label.strip():
            clean.append({"option_display_name": name.strip(), "label": label.strip()})
        elif _is_integer(entry.get("id")) and _is_integer(entry.get("option_id")):
            clean.append({"id": entry["id"], "option_id": entry["option_id"]})
        else:
            errors[here] = "needs option_display_name and label (or id and option_id)"
    names = [entry.get("option_display_name") for entry in clean]
    named = [name for name in names if name]
    if len(named) != len(set(named)):
        errors[path] = "names the same option twice"
    return clean


def _check_option_sets(variants: list[dict[str, Any]], path: str, errors: dict[str, str]) -> None:
    """Every new variant names the same options (a value for each), as BigCommerce requires."""
    sets = [
        (index, frozenset(e.get("option_display_name") for e in v.get("option_values") or []))
        for index, v in enumerate(variants)
        if v.get("option_values") and all("option_display_name" in e for e in v["option_values"])
    ]
    if not sets:
        return
    first = sets[0][1]
    for index, names in sets[1:]:
        if names != first:
            expected = ", ".join(sorted(n for n in first if n))
            errors[f"{path}.{index}.option_values"] = f"needs a value for each option ({expected})"


def _entries(value: Any, path: str, errors: dict[str, str]) -> list[tuple[str, dict[str, Any]]]:
    if not isinstance(value, list):
        errors[path] = "must be a list"
        return []
    entries = []
    for index, item in enumerate(value):
        here = f"{path}.{index}"
        if isinstance(item, dict):
            entries.append((here, item))
        else:
            errors[here] = "must be a JSON object"
    return entries


def _entry_id(item: dict[str, Any], here: str, creating: bool, errors: dict[str, str]) -> bool:
    """Whether the entry names an existing sub-record (updates only)."""
    if "id" not in item or creating:
        return False
    if _is_integer(item["id"]):
        return True
    errors[here + ".id"] = "must be an integer"
    return False


def check_images(
    value: Any, *, creating: bool, path: str, errors: dict[str, str]
) -> list[dict[str, Any]]:
    """Inline product images: image_url (a public http(s) URL) for a new image; is_thumbnail,
    sort_order, description; `id` names an existing image on update."""
    images = []
    for here, item in _entries(value, path, errors):
        clean: dict[str, Any] = {}
        if _entry_id(item, here, creating, errors):
            clean["id"] = item["id"]
        url = item.get("image_url")
        if url is not None or "id" not in clean:
            if not isinstance(url, str) or not url.startswith(("http://", "https://")):
                errors[here + ".image_url"] = "must be a fully qualified http(s) URL"
            else:
                clean["image_url"] = url
        if "is_thumbnail" in item:
            if isinstance(item["is_thumbnail"], bool):
                clean["is_thumbnail"] = item["is_thumbnail"]
            else:
                errors[here + ".is_thumbnail"] = "must be a boolean"
        if "sort_order" in item:
            if _is_integer(item["sort_order"]):
                clean["sort_order"] = item["sort_order"]
            else:
                errors[here + ".sort_order"] = "must be an integer"
        if "description" in item:
            _text(item["description"], here + ".description", errors)
            clean["description"] = item["description"]
        images.append(clean)
    return images


def check_custom_fields(
    value: Any, *, creating: bool, path: str, errors: dict[str, str]
) -> list[dict[str, Any]]:
    """Inline custom fields: name and value, each 1 to 250 characters; `id` names an existing
    field on update."""
    fields = []
    for here, item in _entries(value, path, errors):
        clean: dict[str, Any] = {}
        if _entry_id(item, here, creating, errors):
            clean["id"] = item["id"]
        for key in ("name", "value"):
            text = item.get(key)
            if text is None and "id" in clean:
                continue
            if not isinstance(text, str) or not 1 <= len(text) <= MAX_CUSTOM_FIELD:
                errors[f"{here}.{key}"] = f"must be 1 to {MAX_CUSTOM_FIELD} characters"
            else:
                clean[key] = text
        fields.append(clean)
    return fields
