"""How products hold their categories and brands: the product document lists {id, name, slug}
of each term; these helpers keep that list and the terms' `count` right on every product write
(kept apart from terms.py so the product store can use them without an import cycle)."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from typing import Any

from apps.sandbox.models import SandboxObject, SandboxStore

# resource of a taxonomy → the product field that lists its terms.
PRODUCT_FIELDS = {"category": "categories", "brand": "brands"}
# (record before, record after) of a product write.
Change = tuple[dict[str, Any] | None, dict[str, Any] | None]


def resolve_product_terms(sandbox: SandboxStore, payloads: Iterable[dict[str, Any]]) -> None:
    """Replace the term references of product fields by the terms themselves ({id, name,
    slug}); ids that are not terms of the store are dropped, as wp_set_object_terms() skips
    them."""
    payloads = list(payloads)
    for resource, field in PRODUCT_FIELDS.items():
        wanted = {t["id"] for p in payloads for t in p.get(field) or []}
        if not wanted:
            continue
        rows = SandboxObject.objects.filter(
            store=sandbox, resource=resource, object_id__in=wanted
        ).values_list("object_id", "name", "unique_name")
        known = {oid: {"id": oid, "name": name, "slug": slug} for oid, name, slug in rows}
        for payload in payloads:
            if field in payload:
                ids = list(dict.fromkeys(t["id"] for t in payload[field]))
                payload[field] = [known[i] for i in ids if i in known]


def _published_terms(data: dict[str, Any] | None) -> set[tuple[str, int]]:
    if not data or data.get("status") != "publish":
        return set()
    return {
        (resource, term["id"])
        for resource, field in PRODUCT_FIELDS.items()
        for term in data.get(field) or []
    }


def adjust_counts(sandbox: SandboxStore, changes: list[Change]) -> None:
    """Keep each term's `count` (published products carrying it) in step with product writes."""
    deltas: dict[tuple[str, int], int] = defaultdict(int)
    for old, new in changes:
        for key in _published_terms(old):
            deltas[key] -= 1
        for key in _published_terms(new):
            deltas[key] += 1
    by_resource: dict[str, dict[int, int]] = defaultdict(dict)
    for (resource, term_id), delta in deltas.items():
        if delta:
            by_resource[resource][term_id] = delta
    for resource, ids in by_resource.items():
        rows = list(
            SandboxObject.objects.filter(store=sandbox, resource=resource, object_id__in=ids)
        )
        for row in rows:
            row.data = {**row.data, "count": max(0, row.data.get("count", 0) + ids[row.object_id])}
        SandboxObject.objects.bulk_update(rows, ["data"])


def refresh_product_terms(
    sandbox: SandboxStore, resource: str, renamed: dict[int, dict[str, Any]], gone: set[int]
) -> None:
    """Products show their terms' current names and lose deleted terms (WordPress reads term
    names live; the sandbox keeps them in the product document, so it rewrites them)."""
    field = PRODUCT_FIELDS[resource]
    changed = []
    for row in SandboxObject.objects.filter(store=sandbox, resource="product"):
        terms = row.data.get(field) or []
        if not any(t["id"] in gone or t["id"] in renamed for t in terms):
            continue
        row.data[field] = [
            {"id": t["id"], "name": renamed[t["id"]]["name"], "slug": renamed[t["id"]]["slug"]}
            if t["id"] in renamed
            else t
            for t in terms
            if t["id"] not in gone
        ]
        changed.append(row)
    if changed:
        SandboxObject.objects.bulk_update(changed, ["data"], batch_size=500)
