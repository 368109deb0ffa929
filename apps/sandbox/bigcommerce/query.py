"""Query-string parsing for v3 lists: filters, sorting, paging and the pagination meta (the
product filters here; other resources use the shared helpers: int_list, moment, page_of).

Product lists filter and sort on real columns only (object_id, sku, name, date_modified), so
SQLite and PostgreSQL give the same answers and indexes apply.
"""

from __future__ import annotations

import math
from datetime import UTC, datetime
from typing import Any

from django.db.models import QuerySet
from django.http import QueryDict

from apps.sandbox.bigcommerce.errors import invalid
from apps.sandbox.models import SandboxObject

MAX_LIMIT = 250
DEFAULT_LIMIT = 50
# The platform pages products 10 at a time when options or modifiers are included.
OPTIONS_LIMIT = 10
SORT_COLUMNS = {"id": "object_id", "name": "name", "sku": "sku", "date_modified": "date_modified"}


def int_list(value: str, name: str, errors: dict[str, str]) -> list[int]:
    try:
        return [int(part) for part in value.split(",") if part.strip()]
    except ValueError:
        errors[name] = "must be a comma-separated list of integers"
        return []


def integer(value: str, name: str, errors: dict[str, str]) -> int:
    try:
        return int(value)
    except ValueError:
        errors[name] = "must be an integer"
        return 0


def moment(value: str, name: str, errors: dict[str, str]) -> datetime | None:
    text = value.strip().replace(" ", "+")  # an unencoded "+00:00" arrives as " 00:00"
    if text.isdigit():
        return datetime.fromtimestamp(int(text), tz=UTC)
    try:
        at = datetime.fromisoformat(text)
    except ValueError:
        errors[name] = "must be a date (2024-05-14), an ISO 8601 time or a Unix timestamp"
        return None
    return at if at.tzinfo else at.replace(tzinfo=UTC)


def filter_products(
    qs: QuerySet[SandboxObject], query: QueryDict
) -> tuple[QuerySet[SandboxObject], bool]:
    """Products matching the query's filters, and whether any filter was given."""
    problems: dict[str, str] = {}
    used = False
    id_lookups = {
        "id": "object_id",
        "id:min": "object_id__gte",
        "id:max": "object_id__lte",
        "id:greater": "object_id__gt",
        "id:less": "object_id__lt",
    }
    for name, lookup in id_lookups.items():
        if name in query:
            qs = qs.filter(**{lookup: integer(query[name], name, problems)})
            used = True
    if "id:in" in query:
        qs = qs.filter(object_id__in=int_list(query["id:in"], "id:in", problems))
        used = True
    if "id:not_in" in query:
        qs = qs.exclude(object_id__in=int_list(query["id:not_in"], "id:not_in", problems))
        used = True
    if "sku" in query:
        qs = qs.filter(sku=query["sku"].strip())
        used = True
    if "sku:in" in query:
        skus = [part.strip() for part in query["sku:in"].split(",") if part.strip()]
        qs = qs.filter(sku__in=skus)
        used = True
    if "name" in query:
        qs = qs.filter(name=query["name"])
        used = True
    if "name:like" in query:
        qs = qs.filter(name__icontains=query["name:like"])
        used = True
    for name, lookup in (("date_modified:min", "gte"), ("date_modified:max", "lte")):
        if name in query:
            at = moment(query[name], name, problems)
            if at is not None:
                qs = qs.filter(**{f"date_modified__{lookup}": at})
            used = True
    if problems:
        raise invalid(problems)
    return qs, used


def ordering(query: QueryDict) -> list[str]:
    sort = query.get("sort", "id")
    direction = query.get("direction", "asc").lower()
    problems: dict[str, str] = {}
    if sort not in SORT_COLUMNS:
        problems["sort"] = f"must be one of: {', '.join(SORT_COLUMNS)}"
    if direction not in ("asc", "desc"):
        problems["direction"] = "must be asc or desc"
    if problems:
        raise invalid(problems)
    sign = "-" if direction == "desc" else ""
    column = SORT_COLUMNS[sort]
    # Equal names or dates would otherwise come back in any order, and a page boundary
    # between them would repeat one record and skip another.
    return [sign + column] if column == "object_id" else [sign + column, sign + "object_id"]


def paging(query: QueryDict, cap: int) -> tuple[int, int]:
    problems: dict[str, str] = {}
    page = integer(query.get("page", "1"), "page", problems)
    limit = integer(query.get("limit", str(DEFAULT_LIMIT)), "limit", problems)
    if problems:
        raise invalid(problems)
    # Out-of-range values are clamped rather than refused (see the report for this choice).
    return max(1, page), max(1, min(limit, cap))


def includes(query: QueryDict) -> set[str]:
    return {part.strip() for part in query.get("include", "").split(",") if part.strip()}


def select_fields(records: list[dict[str, Any]], query: QueryDict) -> list[dict[str, Any]]:
    """`include_fields` / `exclude_fields` of catalog reads: the id is always kept, and so are
    the sub-resources asked for with `include` (variants, images …)."""
    wanted = text_list(query.get("include_fields", ""))
    unwanted = set(text_list(query.get("exclude_fields", ""))) - {"id"}
    if not wanted and not unwanted:
        return records
    kept = {"id", *wanted, *includes(query)} if wanted else None
    return [
        {
            key: value
            for key, value in record.items()
            if (kept is None or key in kept) and key not in unwanted
        }
        for record in records
    ]


def pagination(total: int, count: int, page: int, limit: int, query: QueryDict) -> dict[str, Any]:
    total_pages = math.ceil(total / limit) if total else 0

    def link(number: int) -> str:
        params = query.copy()
        params["page"] = str(number)
        params["limit"] = str(limit)
        return "?" + params.urlencode(safe=":,")

    links = {"current": link(page)}
    if page > 1:
        links["previous"] = link(page - 1)
    if page < total_pages:
        links["next"] = link(page + 1)
    return {
        "pagination": {
            "total": total,
            "count": count,
            "per_page": limit,
            "current_page": page,
            "total_pages": total_pages,
            "links": links,
        }
    }


def text_list(value: str) -> list[str]:
    return [part.strip() for part in value.split(",") if part.strip()]


def page_of(
    qs: QuerySet[SandboxObject], query: QueryDict, order: list[str], cap: int = MAX_LIMIT
) -> tuple[list[SandboxObject], dict[str, Any]]:
    """One page of rows in `order`, and the v3 pagination meta."""
    page, limit = paging(query, cap)
    total = qs.count()
    start = (page - 1) * limit
    rows = list(qs.order_by(*order)[start : start + limit])
    return rows, pagination(total, len(rows), page, limit, query)
