"""Comparing one record's two canonical forms, path by path (plain Python, no Django).

A record is compared in *target terms*: the source's canonical form as the engine would write
it (normalised, mapped, cleansed, references translated to target ids: `expected`) against the
target's own canonical form now (`target`). Nested lists of objects are keyed by what names an
element (a variant's or a line's SKU, an address's type, an image's position, a custom field's
name), so "variants[TEE-S].price" says which variant differs, whatever the order.

Two things are not differences:
- a top-level field the target's canonical form does not have (the target cannot hold it);
- a path where neither side changed since the engine's last write — the source still equals
  what we wrote (`base`, RecordMap.canonical) and the target still equals what that write
  became there (`base_target`, RecordMap.target_canonical). That is a known lossy mapping
  (BigCommerce stores an untracked variant's stock as 0), exactly as the engine's three-way
  merge treats it (apps/runs/threeway.py), so it is not reported as a mismatch.
"""

from __future__ import annotations

from typing import Any

# What names an element of a list of objects, in order of preference.
ELEMENT_KEYS = ("sku", "type", "position", "name")


def _element_keys(items: list[dict[str, Any]]) -> list[str]:
    for key in ELEMENT_KEYS:
        names = [str(item.get(key)) for item in items]
        if all(item.get(key) not in (None, "") for item in items) and len(set(names)) == len(names):
            return names
    return [str(index) for index in range(len(items))]


def flatten(value: Any, prefix: str = "") -> dict[str, Any]:
    """{path: leaf value}. Lists of scalars are leaves (their order is canonical already)."""
    if isinstance(value, dict) and value:
        flat: dict[str, Any] = {}
        for key, item in value.items():
            flat.update(flatten(item, f"{prefix}.{key}" if prefix else str(key)))
        return flat
    if isinstance(value, list) and value and all(isinstance(i, dict) for i in value):
        flat = {}
        for name, item in zip(_element_keys(value), value, strict=True):
            flat.update(flatten(item, f"{prefix}[{name}]"))
        return flat
    return {prefix: value}


def _top(path: str) -> str:
    return path.split(".", 1)[0].split("[", 1)[0]


def diff(
    expected: dict[str, Any],
    target: dict[str, Any],
    *,
    source: dict[str, Any] | None = None,
    base: dict[str, Any] | None = None,
    base_target: dict[str, Any] | None = None,
) -> list[dict[str, Any]]:
    """[{field, source, target}] for every path the two forms disagree on, in path order.

    `source` is the source's form in source terms (references as source ids) and `base` what
    the engine last wrote in the same terms; with `base_target` they excuse a lossy mapping."""
    held = set(target)
    want, have = flatten(expected), flatten(target)
    lossy = bool(base) and source is not None and base_target is not None
    src = flatten(source) if lossy else {}
    was = flatten(base) if lossy else {}
    became = flatten(base_target) if lossy else {}
    result = []
    for path in sorted(set(want) | set(have)):
        if _top(path) not in held:
            continue
        mine, theirs = want.get(path), have.get(path)
        if mine == theirs:
            continue
        if lossy and src.get(path) == was.get(path) and theirs == became.get(path):
            continue
        result.append({"field": path, "source": mine, "target": theirs})
    return result
