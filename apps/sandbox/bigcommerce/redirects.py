"""301 redirects (`/v3/storefront/redirects`), as SandboxObject rows, and their resolution.

resource "redirect": name = from_path as stored, unique_name = "<site_id>:<from_path>" (an
upsert with the same from_path and site_id overwrites it, and the database keeps them unique
when two requests race), data = {site_id, to}. As the platform answers, a from_path is stored
without its trailing slash ("/old-url/" reads back "/old-url") and the storefront matches
either form. The store has one site, 1000 (channel 1); another site_id is refused.

PUT takes at most UPSERT_LIMIT redirects (413 beyond: BigCommerce's documentation states no
number; public clients send 100 after larger payloads were refused); any invalid item refuses
the whole request with 422 and an error per item field ("0.to.entity_id").
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

from django.db import IntegrityError, transaction
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse, JsonResponse, QueryDict
from django.utils import timezone

from apps.sandbox.bigcommerce.blog import POST as BLOG_POST
from apps.sandbox.bigcommerce.endpoint import endpoint, many
from apps.sandbox.bigcommerce.errors import ApiError, invalid
from apps.sandbox.bigcommerce.query import int_list, page_of
from apps.sandbox.bigcommerce.validation import parse_json
from apps.sandbox.models import SandboxObject, SandboxStore

REDIRECT = "redirect"
SITE_ID = 1000
UPSERT_LIMIT = 100
MAX_URL = 2048
TYPES = ("product", "brand", "category", "page", "post", "url")
TOO_LARGE = (
    f"The request payload is too large. The maximum items allowed in the array is {UPSERT_LIMIT}."
)


def normalise_from_path(path: str) -> str:
    """The stored form: no trailing slash (but "/" itself), the query kept."""
    parts = urlsplit(path)
    clean = parts.path.rstrip("/") or "/"
    return f"{clean}?{parts.query}" if parts.query else clean


def _redirects(store: SandboxStore) -> QuerySet[SandboxObject]:
    return SandboxObject.objects.filter(store=store, resource=REDIRECT)


def redirect_json(
    store: SandboxStore, row: SandboxObject, base: str | None = None
) -> dict[str, Any]:
    to = row.data.get("to", {})
    body: dict[str, Any] = {
        "id": row.object_id,
        "site_id": row.data.get("site_id", SITE_ID),
        "from_path": row.name,
        "to": {"type": to.get("type"), "entity_id": to.get("entity_id", 0), "url": to.get("url")},
    }
    if base is not None:
        target = destination(store, to)
        body["to_url"] = (base + target if target.startswith("/") else target) if target else ""
    return body


def _check(item: Any, prefix: str, errors: dict[str, str]) -> dict[str, Any] | None:
    if not isinstance(item, dict):
        errors[prefix.rstrip(".")] = "must be a JSON object"
        return None
    path = item.get("from_path")
    if not isinstance(path, str) or not path.strip():
        errors[prefix + "from_path"] = "from_path is required"
    elif not path.startswith("/") or len(path) > MAX_URL or any(c.isspace() for c in path):
        errors[prefix + "from_path"] = "must be a relative path starting with /"
    site = item.get("site_id")
    if site is None:
        errors[prefix + "site_id"] = "site_id is required"
    elif not isinstance(site, int) or isinstance(site, bool):
        errors[prefix + "site_id"] = "must be an integer"
    elif site != SITE_ID:
        errors[prefix + "site_id"] = f"Site {site} does not exist"
    to = item.get("to")
    clean_to: dict[str, Any] = {}
    if not isinstance(to, dict):
        errors[prefix + "to"] = "to is required and must be an object"
    else:
        kind = to.get("type")
        if kind not in TYPES:
            errors[prefix + "to.type"] = f"must be one of: {', '.join(TYPES)}"
        elif kind == "url":
            url = to.get("url")
            if not isinstance(url, str) or not url.strip():
                errors[prefix + "to.url"] = "url is required when type is url"
            elif len(url) > MAX_URL:
                errors[prefix + "to.url"] = f"must be at most {MAX_URL} characters"
            else:
                clean_to = {"type": kind, "entity_id": 0, "url": url.strip()}
        else:
            entity = to.get("entity_id")
            if not isinstance(entity, int) or isinstance(entity, bool) or entity < 1:
                errors[prefix + "to.entity_id"] = f"entity_id is required when type is {kind}"
            else:
                clean_to = {"type": kind, "entity_id": entity, "url": ""}
    if any(key.startswith(prefix) or key == prefix.rstrip(".") for key in errors):
        return None
    return {"from_path": normalise_from_path(path), "site_id": site, "to": clean_to}


def upsert(store: SandboxStore, payload: Any) -> list[SandboxObject]:
    if not isinstance(payload, list):
        raise invalid({"body": "must be a JSON array of redirects"})
    if len(payload) > UPSERT_LIMIT:
        raise ApiError(413, TOO_LARGE)
    errors: dict[str, str] = {}
    items = [_check(item, f"{i}.", errors) for i, item in enumerate(payload)]
    if errors:
        raise invalid(errors)
    # The last of two items with the same key wins, as a second upsert of it would.
    wanted = {f"{i['site_id']}:{i['from_path']}": i for i in items if i is not None}
    now = timezone.now()
    try:
        with transaction.atomic():
            existing = {
                row.unique_name: row for row in _redirects(store).filter(unique_name__in=wanted)
            }
            fresh = [key for key in wanted if key not in existing]
            ids = iter(store.allocate_ids(len(fresh))) if fresh else iter(())
            rows: dict[str, SandboxObject] = {}
            for key, item in wanted.items():
                data = {"site_id": item["site_id"], "to": item["to"]}
                row = existing.get(key)
                if row is None:
                    row = SandboxObject.objects.create(
                        store=store,
                        resource=REDIRECT,
                        object_id=next(ids),
                        name=item["from_path"],
                        unique_name=key,
                        data=data,
                        date_created=now,
                        date_modified=now,
                    )
                else:
                    row.data, row.date_modified = data, now
                    row.save(update_fields=["data", "date_modified"])
                rows[key] = row
    except IntegrityError:
        # Another request stored the same from_path in between: the client may send it again.
        raise ApiError(409, "A redirect for this from_path was created concurrently.") from None
    return [rows[f"{i['site_id']}:{i['from_path']}"] for i in items if i is not None]


def delete(store: SandboxStore, query: QueryDict) -> None:
    problems: dict[str, str] = {}
    ids = int_list(query.get("id:in", ""), "id:in", problems)
    site = query.get("site_id")
    if problems:
        raise invalid(problems)
    if not ids and not site:
        raise invalid({"id:in": "id:in or site_id is required"})
    rows = _redirects(store)
    rows = rows.filter(object_id__in=ids) if ids else rows.filter(data__site_id=int(site or 0))
    rows.delete()


def list_page(
    store: SandboxStore, query: QueryDict, base: str
) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    problems: dict[str, str] = {}
    rows = _redirects(store)
    ids = int_list(query.get("id:in", ""), "id:in", problems)
    if problems:
        raise invalid(problems)
    if ids:
        rows = rows.filter(object_id__in=ids)
    if query.get("keyword"):
        rows = rows.filter(name__startswith=query["keyword"])
    sort = {"from_path": "name", "id": "object_id"}.get(query.get("sort", ""), "object_id")
    order = ["-" + sort if query.get("direction") == "desc" else sort, "object_id"]
    page, meta = page_of(rows, query, order)
    with_url = "to_url" in query.get("include", "")
    return [redirect_json(store, row, base if with_url else None) for row in page], meta


# --- resolution (the storefront) --------------------------------------------------------------


def _entity_path(store: SandboxStore, kind: str, entity_id: int) -> str:
    """The current storefront path of a redirect's target entity ("" when it is gone)."""
    resource = {"product": "product", "brand": "brand", "category": "category", "post": BLOG_POST}
    if kind not in resource:
        return ""  # pages are not emulated
    row = SandboxObject.objects.filter(
        store=store, resource=resource[kind], object_id=entity_id
    ).first()
    if row is None:
        return ""
    if kind == "post":
        return row.name
    if kind == "category":
        return row.data.get("url", {}).get("path", "")
    return row.data.get("custom_url", {}).get("url", "")


def destination(store: SandboxStore, to: dict[str, Any]) -> str:
    """Where a redirect sends a shopper: a path on this storefront or an absolute URL."""
    if to.get("type") == "url":
        return to.get("url") or ""
    return _entity_path(store, to.get("type", ""), int(to.get("entity_id") or 0))


def find(store: SandboxStore, path: str) -> SandboxObject | None:
    return _redirects(store).filter(name=normalise_from_path(path)).first()


# --- the endpoint -------------------------------------------------------------------------------


def _storefront_base(request: HttpRequest, store: SandboxStore) -> str:
    return request.build_absolute_uri(f"/sandbox/{store.slug}").rstrip("/")


@endpoint(("GET", "PUT", "DELETE"))
def redirect_list(request: HttpRequest, sandbox: SandboxStore) -> HttpResponse:
    base = _storefront_base(request, sandbox)
    if request.method == "GET":
        return many(*list_page(sandbox, request.GET, base))
    if request.method == "PUT":
        rows = upsert(sandbox, parse_json(request))
        data = [redirect_json(sandbox, row, base) for row in rows]
        meta = {"pagination": {"total": len(data), "count": len(data)}}
        return JsonResponse({"data": data, "meta": meta}, status=201)
    delete(sandbox, request.GET)
    return HttpResponse(status=204)
