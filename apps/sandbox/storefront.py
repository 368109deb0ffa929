"""The sandbox stores' storefronts: what a shopper (or a redirect checker) gets at a URL.

Served at {server}/sandbox/<slug>/<path> — the site root of a WooCommerce sandbox (its
permalinks already point there) and the storefront of a BigCommerce sandbox. GET and HEAD only:
- a stored redirect answers 301 with an absolute Location (BigCommerce: `/v3/storefront/
  redirects`, which apply only where no live page holds the path, as on the platform;
  WooCommerce: the Redirection plugin's items, which it checks before WordPress serves a page);
- a product, category, brand or published post URL answers 200 with a small page;
- anything else is 404.
Trailing slashes are ignored when matching, as both platforms' defaults do.

A WooCommerce sandbox also takes a Redirection CSV import at the plugin's REST route
`POST wp-json/redirection/v1/import/file/<group_id>` (multipart `file`), parsed the way the
plugin's importer does (columns source, target, regex, code; `,` `;` or `|`; a header row
and rows whose source equals their target are skipped). Regex items are stored, not matched.
"""

from __future__ import annotations

import csv
import io
from typing import Any

from django.db import transaction
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.utils import timezone
from django.utils.html import escape
from django.views.decorators.csrf import csrf_exempt

from apps.sandbox.bigcommerce import redirects as bc_redirects
from apps.sandbox.bigcommerce.blog import POST as BLOG_POST
from apps.sandbox.models import Flavor, SandboxObject, SandboxStore
from apps.sandbox.woocommerce.auth import authenticate
from apps.sandbox.woocommerce.errors import WCError

REDIRECTION_ITEM = "redirection_item"
MAX_IMPORT_BYTES = 5 * 1024 * 1024
_VALID_CODES = {301, 302, 303, 304, 307, 308}


def _variants(path: str) -> list[str]:
    """A path with and without its trailing slash (both platforms match either)."""
    bare = path.rstrip("/") or "/"
    return list(dict.fromkeys([path, bare, bare + "/" if bare != "/" else bare]))


def _rows(store: SandboxStore, resource: str) -> QuerySet[SandboxObject]:
    return SandboxObject.objects.filter(store=store, resource=resource)


def _bigcommerce_page(store: SandboxStore, path: str) -> bool:
    paths = _variants(path)
    return (
        _rows(store, "product").filter(data__custom_url__url__in=paths).exists()
        or _rows(store, "brand").filter(data__custom_url__url__in=paths).exists()
        or _rows(store, "category").filter(data__url__path__in=paths).exists()
        or _rows(store, BLOG_POST).filter(name__in=paths).exists()
    )


def _woocommerce_page(store: SandboxStore, path: str, query: str) -> bool:
    if query.startswith("p=") and query[2:].isdigit():
        return _rows(store, "post").filter(object_id=int(query[2:])).exists()
    segments = [s for s in path.split("/") if s]
    if len(segments) == 2 and segments[0] == "product":
        return _rows(store, "product").filter(data__slug=segments[1]).exists()
    if len(segments) >= 2 and segments[0] == "product-category":
        return _rows(store, "category").filter(unique_name=segments[-1]).exists()
    if len(segments) == 2 and segments[0] == "brand":
        return _rows(store, "brand").filter(unique_name=segments[1]).exists()
    if len(segments) == 1:
        return _rows(store, "post").filter(unique_name=segments[0], data__status="publish").exists()
    return False


def _redirect(base: str, target: str, code: int = 301) -> HttpResponse:
    response = HttpResponse(status=code)
    response["Location"] = base + target if target.startswith("/") else target
    return response


def _page(title: str) -> HttpResponse:
    return HttpResponse(f"<!doctype html><title>{escape(title)}</title><h1>{escape(title)}</h1>")


def _not_found() -> HttpResponse:
    return HttpResponse("<!doctype html><title>Not found</title><h1>Not found</h1>", status=404)


@csrf_exempt  # a shop's pages, not this server's forms: any other method is 405
def page(request: HttpRequest, slug: str, path: str = "") -> HttpResponse:
    if request.method not in ("GET", "HEAD"):
        response = HttpResponse(status=405)
        response["Allow"] = "GET, HEAD"
        return response
    store = SandboxStore.objects.filter(slug=slug).first()
    if store is None:
        return _not_found()
    base = request.build_absolute_uri(f"/sandbox/{store.slug}").rstrip("/")
    full = "/" + path
    query = request.META.get("QUERY_STRING", "")
    with_query = f"{full}?{query}" if query else full
    if full == "/" and not query:
        return _page(store.name)
    if store.flavor == Flavor.BIGCOMMERCE:
        if _bigcommerce_page(store, full):
            return _page(full)
        row = bc_redirects.find(store, with_query)
        target = bc_redirects.destination(store, row.data.get("to", {})) if row else ""
        return _redirect(base, target) if target else _not_found()
    item = _rows(store, REDIRECTION_ITEM).filter(name__in=_variants(with_query)).first()
    if item is not None and not item.data.get("regex"):
        return _redirect(base, item.data.get("target", ""), item.data.get("code", 301))
    return _page(full) if _woocommerce_page(store, full, query) else _not_found()


# --- Redirection's CSV import -------------------------------------------------------------------


def parse_redirection_csv(text: str) -> list[dict[str, Any]]:
    """Items as the plugin's importer reads them (Red_Csv_File::load)."""
    for separator in (",", ";", "|"):
        items = []
        for row in csv.reader(io.StringIO(text), delimiter=separator):
            if len(row) < 2 or (row[0] == "source" and row[1] == "target"):
                continue
            source, target = row[0].strip(), row[1].strip()
            if not source or source == target:
                continue
            regex = row[2].strip() == "1" if len(row) > 2 else any(c in source for c in "()[]$^*")
            try:
                code = int(row[3]) if len(row) > 3 else 301
            except ValueError:
                code = 301
            items.append(
                {"source": source, "target": target, "regex": regex, "code": code}
                if code in _VALID_CODES
                else {"source": source, "target": target, "regex": regex, "code": 301}
            )
        if items:
            return items
    return []


@csrf_exempt
def redirection_import(request: HttpRequest, slug: str, group_id: int) -> HttpResponse:
    try:
        store = authenticate(request, slug, "create")
    except WCError as exc:
        return exc.response()
    if request.method != "POST":
        return WCError("rest_no_route", "No route was found matching the URL.", 404).response()
    upload = request.FILES.get("file")
    if upload is None:
        return WCError("redirect_import_invalid_file", "Invalid file", 400).response()
    if upload.size > MAX_IMPORT_BYTES:
        return WCError("redirect_import_invalid_file", "File too large", 413).response()
    try:
        text = upload.read().decode("utf-8-sig")
    except UnicodeDecodeError:
        return WCError("redirect_import_invalid_file", "Invalid file", 400).response()
    items = parse_redirection_csv(text)
    now = timezone.now()
    with transaction.atomic():
        existing = {
            row.unique_name: row
            for row in _rows(store, REDIRECTION_ITEM).filter(
                unique_name__in=[i["source"] for i in items]
            )
        }
        fresh = [i for i in items if i["source"] not in existing]
        ids = iter(store.allocate_ids(len(fresh))) if fresh else iter(())
        for item in items:
            data = {k: item[k] for k in ("target", "regex", "code")} | {"group_id": group_id}
            row = existing.get(item["source"])
            if row is None:
                existing[item["source"]] = SandboxObject.objects.create(
                    store=store,
                    resource=REDIRECTION_ITEM,
                    object_id=next(ids),
                    name=item["source"],
                    unique_name=item["source"],
                    data=data,
                    date_created=now,
                    date_modified=now,
                )
            else:
                row.data, row.date_modified = data, now
                row.save(update_fields=["data", "date_modified"])
    return JsonResponse({"imported": len(items)})
