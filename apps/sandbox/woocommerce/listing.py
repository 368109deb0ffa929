"""Collection queries: `page`, `per_page`, `offset`, `orderby`, `order`, date windows, `sku`,
`include` / `exclude`, `search` — two queries per page (count, then the stored documents).

Filters run on real columns (sku, name, dates, parent_id) so SQLite and PostgreSQL agree.
WooCommerce filters the sandbox cannot answer from those columns (status, type, category …)
are refused with a 400 rather than silently ignored: a client must not believe it filtered.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from django.db.models import Case, F, IntegerField, Value, When
from django.db.models.functions import Lower

from apps.sandbox.models import SandboxObject, SandboxStore
from apps.sandbox.woocommerce.errors import WCError, invalid_params

MAX_PER_PAGE = 100
ORDERBY = ("date", "id", "include", "title", "modified")
_COLUMNS = {"date": "date_created", "id": "object_id", "modified": "date_modified"}
# rest_parse_date(): a full date and time, optional fraction and offset.
_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}[Tt ]\d{2}:\d{2}:\d{2}(\.\d+)?([Zz]|[+-]\d{2}(:?\d{2})?)?$")
_UNSUPPORTED = (
    "type",
    "category",
    "tag",
    "featured",
    "on_sale",
    "min_price",
    "max_price",
    "stock_status",
    "parent",
    "parent_exclude",
    "slug",
    "tax_class",
    "shipping_class",
    "attribute",
    "attribute_term",
)


@dataclass
class ListQuery:
    page: int = 1
    per_page: int = 10
    offset: int | None = None
    orderby: str = "date"
    descending: bool = True
    include: list[int] = field(default_factory=list)
    exclude: list[int] = field(default_factory=list)
    skus: list[str] = field(default_factory=list)
    search: str = ""
    windows: dict[str, datetime] = field(default_factory=dict)


@dataclass
class Listing:
    items: list[dict[str, Any]]
    total: int
    pages: int
    query: ListQuery


def _id_list(params: Mapping[str, Any], name: str, errors: dict[str, str]) -> list[int]:
    raw: list[str] = []
    getlist = getattr(params, "getlist", None)
    for key in (name, f"{name}[]"):
        values = getlist(key) if getlist else ([params[key]] if key in params else [])
        for value in values:
            raw.extend(part for part in str(value).split(",") if part.strip())
    ids = []
    for part in raw:
        if not part.strip().isdigit():
            errors[name] = f"{name}[{len(ids)}] is not of type integer."
            return []
        ids.append(int(part))
    return ids


def _int(params: Mapping[str, Any], name: str, default: int | None, errors: dict[str, str]):
    value = params.get(name)
    if value is None or value == "":
        return default
    if not re.fullmatch(r"-?\d+", str(value).strip()):
        errors[name] = f"{name} is not of type integer."
        return default
    return int(value)


def _date(value: str) -> datetime | None:
    value = value.strip()
    if not _DATE.match(value):
        return None
    try:
        moment = datetime.fromisoformat(value.replace("z", "Z").replace("t", "T"))
    except ValueError:
        return None
    # Sandbox sites run on UTC, so site-local dates and GMT dates (dates_are_gmt) coincide.
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def parse_query(params: Mapping[str, Any]) -> ListQuery:
    """A collection query from request parameters; WCError (rest_invalid_param) if invalid."""
    errors: dict[str, str] = {}
    q = ListQuery()
    q.page = _int(params, "page", 1, errors)
    if q.page < 1:
        errors["page"] = "page must be greater than or equal to 1"
    q.per_page = _int(params, "per_page", 10, errors)
    if not 1 <= q.per_page <= MAX_PER_PAGE:
        errors["per_page"] = (
            f"per_page must be between 1 (inclusive) and {MAX_PER_PAGE} (inclusive)"
        )
    q.offset = _int(params, "offset", None, errors)
    if q.offset is not None and q.offset < 0:
        errors["offset"] = "offset must be greater than or equal to 0"
    order = params.get("order", "desc")
    if order not in ("asc", "desc"):
        errors["order"] = "order is not one of asc, desc."
    q.descending = order != "asc"
    q.orderby = params.get("orderby", "date")
    if q.orderby not in ORDERBY:
        errors["orderby"] = f"orderby is not one of {', '.join(ORDERBY)}."
    q.include = _id_list(params, "include", errors)
    q.exclude = _id_list(params, "exclude", errors)
    sku = str(params.get("sku", "")).strip()
    q.skus = [part.strip() for part in sku.split(",") if part.strip()]
    if len(q.skus) > 1:
        q.skus.append(sku)  # as WooCommerce does: "a,b" may itself be a SKU
    q.search = str(params.get("search", "")).strip()
    for name in ("after", "before", "modified_after", "modified_before"):
        value = params.get(name)
        if value:
            moment = _date(str(value))
            if moment is None:
                errors[name] = "Invalid date."
            else:
                q.windows[name] = moment
    if params.get("dates_are_gmt", "false") not in ("true", "false", "1", "0", ""):
        errors["dates_are_gmt"] = "dates_are_gmt is not of type boolean."
    status = params.get("status", "any")
    if status != "any":
        errors["status"] = "status filters are not emulated by the sandbox (only any)."
    for name in _UNSUPPORTED:
        if name in params:
            errors[name] = f"{name} filters are not emulated by the sandbox."
    if errors:
        raise invalid_params(errors)
    if q.orderby == "include" and not q.include:
        raise WCError(
            "rest_orderby_include_missing_include",
            "You need to define an include parameter to order by include.",
            400,
        )
    return q


def run_query(
    store: SandboxStore, resource: str, q: ListQuery, parent_id: int | None = None
) -> Listing:
    resources = [resource]
    if resource == "product" and q.skus:
        # wc/v3 widens a SKU query to variations too (post_type product + product_variation).
        resources.append("variation")
    qs = SandboxObject.objects.filter(store=store, resource__in=resources)
    if parent_id is not None:
        qs = qs.filter(parent_id=parent_id)
    if q.include:
        qs = qs.filter(object_id__in=q.include)
    if q.exclude:
        qs = qs.exclude(object_id__in=q.exclude)
    if q.skus:
        qs = qs.filter(sku__in=q.skus)
    if q.search:
        qs = qs.filter(name__icontains=q.search)
    # WordPress date queries are exclusive at both ends.
    lookups = {
        "after": "date_created__gt",
        "before": "date_created__lt",
        "modified_after": "date_modified__gt",
        "modified_before": "date_modified__lt",
    }
    qs = qs.filter(**{lookups[name]: moment for name, moment in q.windows.items()})
    total = qs.count()
    pages = math.ceil(total / q.per_page) if total else 0
    start = q.offset if q.offset is not None else (q.page - 1) * q.per_page
    if start >= total:
        return Listing([], total, pages, q)
    if q.orderby == "include":
        position = Case(
            *[When(object_id=oid, then=Value(i)) for i, oid in enumerate(q.include)],
            output_field=IntegerField(),
        )
        ordering = [position.asc(), F("object_id").asc()]
    else:
        primary = Lower("name") if q.orderby == "title" else F(_COLUMNS[q.orderby])
        # Ties (seeded rows share timestamps, names repeat) break on id: pages never overlap.
        tie = F("object_id")
        ordering = [primary.desc(), tie.desc()] if q.descending else [primary.asc(), tie.asc()]
    items = list(qs.order_by(*ordering).values_list("data", flat=True)[start : start + q.per_page])
    return Listing(items, total, pages, q)
