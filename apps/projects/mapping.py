"""Field mapping per project: canonical record in, canonical record out.

A mapping names, per entity and target field, where its value comes from and how it is
transformed: {"products": {"name": {"from": "name", "transforms": ["trim", "truncate:250"]},
"description": {"value": ""}}}. A project's mapping is merged over its platform pair's defaults,
field by field; a field not named keeps its canonical value.
"""

from __future__ import annotations

import html
import re
from collections.abc import Callable
from typing import Any

from django.core.exceptions import ValidationError

# Limits of the targets that a straight copy would break (BigCommerce: product names ≤ 250,
# brand names ≤ 255, category names ≤ 50, blog titles ≤ 255).
PAIR_DEFAULTS: dict[tuple[str, str], dict[str, dict[str, dict[str, Any]]]] = {
    ("woocommerce", "bigcommerce"): {
        "products": {"name": {"transforms": ["truncate:250"]}},
        "brands": {"name": {"transforms": ["truncate:255"]}},
        "categories": {"name": {"transforms": ["truncate:50"]}},
        "posts": {"title": {"transforms": ["truncate:255"]}},
    },
}

_TAG = re.compile(r"<[^>]+>")


def _text(value: Any) -> str:
    return "" if value is None else str(value)


def _transform(name: str) -> Callable[[Any], Any]:
    op, _, arg = name.partition(":")
    simple: dict[str, Callable[[Any], Any]] = {
        "trim": lambda v: _text(v).strip(),
        "lower": lambda v: _text(v).lower(),
        "upper": lambda v: _text(v).upper(),
        "title": lambda v: _text(v).title(),
        "strip_html": lambda v: html.unescape(_TAG.sub("", _text(v))).strip(),
        "none_if_empty": lambda v: v if v not in ("", [], {}) else None,
    }
    if op in simple and not arg:
        return simple[op]
    if op == "truncate" and arg.isdigit():
        return lambda v: _text(v)[: int(arg)]
    if op == "prefix":
        return lambda v: arg + _text(v)
    if op == "suffix":
        return lambda v: _text(v) + arg
    if op == "default":
        return lambda v: arg if v in (None, "") else v
    raise ValidationError(f"Unknown transform {name!r}.")


TRANSFORMS_HELP = (
    "trim, lower, upper, title, strip_html, none_if_empty, truncate:N, prefix:TEXT, "
    "suffix:TEXT, default:TEXT"
)


def effective_mapping(
    source_family: str, target_family: str, project_mappings: dict[str, Any] | None
) -> dict[str, dict[str, dict[str, Any]]]:
    merged: dict[str, dict[str, dict[str, Any]]] = {}
    for layer in (PAIR_DEFAULTS.get((source_family, target_family), {}), project_mappings or {}):
        for entity, fields in layer.items():
            for field, rule in (fields or {}).items():
                merged.setdefault(entity, {})[field] = dict(rule)
    return merged


def check_mapping(mappings: dict[str, Any]) -> None:
    """Refuse a malformed mapping with a message naming the field (used by forms and API)."""
    if not isinstance(mappings, dict):
        raise ValidationError("A field mapping is an object of entities.")
    for entity, fields in mappings.items():
        if not isinstance(fields, dict):
            raise ValidationError(f"{entity}: expected an object of fields.")
        for field, rule in fields.items():
            if not isinstance(rule, dict) or set(rule) - {"from", "value", "transforms"}:
                raise ValidationError(
                    f"{entity}.{field}: a rule has 'from', 'value' and/or 'transforms'."
                )
            for name in rule.get("transforms", []):
                _transform(str(name))


def apply(entity: str, record: dict[str, Any], mapping: dict[str, Any]) -> dict[str, Any]:
    rules = mapping.get(entity)
    if not rules:
        return record
    mapped = dict(record)
    for field, rule in rules.items():
        value = rule["value"] if "value" in rule else record.get(rule.get("from", field))
        for name in rule.get("transforms", []):
            value = _transform(name)(value)
        mapped[field] = value
    return mapped
