"""Collection queries: `page`, `per_page`, `offset`, `orderby`, `order`, date windows, `sku`,
`include` / `exclude`, `search` and per-resource filters — two queries per page (count, then the
stored documents).

Filters run on real columns (sku, name, unique_name, parent_id, dates) or on keys of the stored
JSON, so SQLite and PostgreSQL agree. Each resource describes its own parameters in a ListSpec
(WordPress registers collection parameters per endpoint). Filters a resource has on a real shop but
the sandbox cannot answer (a product's category, an order's product …) are refused with a 400
rather than silently ignored: a client must not believe it filtered. Parameters a real endpoint
does not register at all are ignored, as WordPress ignores them — notably `modified_after` on
customers and terms, which WooCommerce does not have.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from django.db.models import Case, F, IntegerField, Q, QuerySet, Value, When
from django.db.models.functions import Lower

from apps.sandbox.models import SandboxObject, SandboxStore
from apps.sandbox.woocommerce.errors import WCError, invalid_params

MAX_PER_PAGE = 100
DATE_WINDOWS = ("after", "before", "modified_after", "modified_before")
# rest_parse_date(): a full date and time, optional fraction and offset.
_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}[Tt ]\d{2}:\d{2}:\d{2}(\.\d+)?([Zz]|[+-]\d{2}(:?\d{2})?)?$")

ExtraParser = Callable[[Mapping[str, Any], dict[str, str]], dict[str, Any]]
ExtraFilter = Callable[[QuerySet, dict[str, Any]], QuerySet]


def _by_name_icontains(term: str) -> Q:
    return Q(name__icontains=term)


@dataclass(frozen=True)
class ListSpec:
    """The collection parameters one endpoint registers."""

    orderby: tuple[str, ...] = ("date", "id", "include", "title", "modified")
    default_orderby: str = "date"
    default_order: str = "desc"
    # orderby value → the column or expression it sorts on ("include" is built in).
    order_columns: dict[str, Callable[[], Any]] = field(
        default_factory=lambda: {
            "date": lambda: F("date_created"),
            "id": lambda: F("object_id"),
            "modified": lambda: F("date_modified"),
            "title": lambda: Lower("name"),
        }
    )
    dates: bool = True  # after / before / modified_after / modified_before are registered
    sku: bool = False
    # Registered on the real endpoint, not emulated here: refused with rest_invalid_param.
    unsupported: tuple[str, ...] = ()
    search: Callable[[str], Q] = _by_name_icontains
    parse: ExtraParser | None = None
    apply: ExtraFilter | None = None


def _product_extra(params: Mapping[str, Any], errors: dict[str, str]) -> dict[str, Any]:
    status = params.get("status", "any")
    if status != "any":
        errors["status"] = "status filters are not emulated by the sandbox (only any)."
    return {}


PRODUCT_LIST = ListSpec(
    sku=True,
    unsupported=(
        "type",
        "category",
        "tag",
        "brand",
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
    ),
    parse=_product_extra,
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
    filters: dict[str, Any] = field(default_factory=dict)
    spec: ListSpec = PRODUCT_LIST


@dataclass
class Listing:
    items: list[dict[str, Any]]
    total: int
    pages: int
    query: ListQuery


def values(params: Mapping[str, Any], name: str) -> list[str]:
    """A list parameter as WordPress reads it: `a,b`, repeated `name[]=`, or repeated `name=`."""
    raw: list[str] = []
    getlist = getattr(params, "getlist", None)
    for key in (name, f"{name}[]"):
        found = getlist(key) if getlist else ([params[key]] if key in params else [])
        for value in found:
            raw.extend(part.strip() for part in str(value).split(",") if part.strip())
    return raw


def id_list(params: Mapping[str, Any], name: str, errors: dict[str, str]) -> list[int]:
    ids = []
    for part in values(params, name):
        if not part.isdigit():
            errors[name] = f"{name}[{len(ids)}] is not of type integer."
            return []
        ids.append(int(part))
    return ids


def integer(
    params: Mapping[str, Any], name: str, default: int | None, errors: dict[str, str]
) -> int | None:
    value = params.get(name)
    if value is None or value == "":
        return default
    if not re.fullmatch(r"-?\d+", str(value).strip()):
        errors[name] = f"{name} is not of type integer."
        return default
    return int(value)


def boolean(params: Mapping[str, Any], name: str, errors: dict[str, str]) -> bool | None:
    value = params.get(name)
    if value is None:
        return None
    if value in ("true", "1"):
        return True
    if value in ("false", "0", ""):
        return False
    errors[name] = f"{name} is not of type boolean."
    return None


def parse_date(value: str) -> datetime | None:
    value = value.strip()
    if not _DATE.match(value):
        return None
    try:
        moment = datetime.fromisoformat(value.replace("z", "Z").replace("t", "T"))
    except ValueError:
        return None
    # Sandbox sites run on UTC, so site-local dates and GMT dates (dates_are_gmt) coincide.
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def parse_query(params: Mapping[str, Any], spec: ListSpec = PRODUCT_LIST) -> ListQuery:
    """A collection query from request parameters; WCError (rest_invalid_param) if invalid."""
    errors: dict[str, str] = {}
    q = ListQuery(spec=spec)
    q.page = integer(params, "page", 1, errors)
    if q.page < 1:
        errors["page"] = "page must be greater than or equal to 1"
    q.per_page = integer(params, "per_page", 10, errors)
    if not 1 <= q.per_page <= MAX_PER_PAGE:
        errors["per_page"] = (
            f"per_page must be between 1 (inclusive) and {MAX_PER_PAGE} (inclusive)"
        )
    q.offset = integer(params, "offset", None, errors)
    if q.offset is not None and q.offset < 0:
        errors["offset"] = "offset must be greater than or equal to 0"
    order = params.get("order", spec.default_order)
    if order not in ("asc", "desc"):
        errors["order"] = "order is not one of asc, desc."
    q.descending = order != "asc"
    q.orderby = params.get("orderby", spec.default_orderby)
    if q.orderby not in spec.orderby:
        errors["orderby"] = f"orderby is not one of {', '.join(spec.orderby)}."
    elif q.orderby != "include" and q.orderby not in spec.order_columns:
        errors["orderby"] = f"orderby {q.orderby} is not emulated by the sandbox."
    q.include = id_list(params, "include", errors)
    q.exclude = id_list(params, "exclude", errors)
    if spec.sku:
        sku = str(params.get("sku", "")).strip()
        q.skus = [part.strip() for part in sku.split(",") if part.strip()]
        if len(q.skus) > 1:
            q.skus.append(sku)  # as WooCommerce does: "a,b" may itself be a SKU
    q.search = str(params.get("search", "")).strip()
    if spec.dates:
        for name in DATE_WINDOWS:
            value = params.get(name)
            if value:
                moment = parse_date(str(value))
                if moment is None:
                    errors[name] = "Invalid date."
                else:
                    q.windows[name] = moment
        if params.get("dates_are_gmt", "false") not in ("true", "false", "1", "0", ""):
            errors["dates_are_gmt"] = "dates_are_gmt is not of type boolean."
    if spec.parse is not None:
        q.filters = spec.parse(params, errors)
    for name in spec.unsupported:
        if name in params or f"{name}[]" in params:
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


# WordPress date queries are exclusive at both ends and compare whole seconds: the posts table
# keeps DATETIME columns (no fraction) and the bound is formatted "Y-m-d H:i:s". Sandbox rows keep
# microseconds, so the comparison is made as MySQL would make it on the truncated values:
# trunc(t) > floor(b) ⇔ t >= floor(b) + 1 s, and trunc(t) < floor(b) ⇔ t < floor(b).
_WINDOW_LOOKUPS = {
    "after": ("date_created__gte", timedelta(seconds=1)),
    "before": ("date_created__lt", timedelta(0)),
    "modified_after": ("date_modified__gte", timedelta(seconds=1)),
    "modified_before": ("date_modified__lt", timedelta(0)),
}


def _window_filter(name: str, moment: datetime) -> dict[str, datetime]:
    lookup, shift = _WINDOW_LOOKUPS[name]
    return {lookup: moment.replace(microsecond=0) + shift}


def filtered(
    store: SandboxStore, resources: list[str], q: ListQuery, parent_id: int | None = None
) -> QuerySet:
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
        qs = qs.filter(q.spec.search(q.search))
    for name, moment in q.windows.items():
        qs = qs.filter(**_window_filter(name, moment))
    if q.spec.apply is not None:
        qs = q.spec.apply(qs, q.filters)
    return qs


def page_of(qs: QuerySet, q: ListQuery) -> Listing:
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
        primary = q.spec.order_columns[q.orderby]()
        # Ties (seeded rows share timestamps, names repeat) break on id: pages never overlap.
        tie = F("object_id")
        ordering = [primary.desc(), tie.desc()] if q.descending else [primary.asc(), tie.asc()]
    items = list(qs.order_by(*ordering).values_list("data", flat=True)[start : start + q.per_page])
    return Listing(items, total, pages, q)


def run_query(
    store: SandboxStore, resource: str, q: ListQuery, parent_id: int | None = None
) -> Listing:
    resources = [resource]
    if resource == "product" and q.skus:
        # wc/v3 widens a SKU query to variations too (post_type product + product_variation).
        resources.append("variation")
    return page_of(filtered(store, resources, q, parent_id), q)


def only_fields(items: list[dict[str, Any]], wanted: list[str]) -> list[dict[str, Any]]:
    """WordPress's global `_fields` parameter (rest_filter_response_fields): keep only the named
    fields of each item, where "a.b" keeps field b of object a. Unknown names are ignored, as
    WordPress ignores them; no `_fields` (or an empty one) keeps everything. `wanted` is the
    parameter as values() reads it ("id,name" or repeated `_fields[]=`)."""
    paths = [part.split(".") for part in wanted]
    if not paths:
        return items
    return [_pick(item, paths) for item in items]


def _pick(item: dict[str, Any], paths: list[list[str]]) -> dict[str, Any]:
    kept: dict[str, Any] = {}
    for path in paths:
        source: Any = item
        target = kept
        for depth, key in enumerate(path):
            if not isinstance(source, dict) or key not in source:
                break
            if depth == len(path) - 1:
                target[key] = source[key]
                break
            # "a" asked for whole already holds "a.b"; and the stored document is never edited.
            if target.get(key) is source[key] or not isinstance(source[key], dict):
                break
            source = source[key]
            target = target.setdefault(key, {})
    return kept
