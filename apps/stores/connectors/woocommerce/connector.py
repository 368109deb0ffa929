"""WooCommerceConnector: wc/v3 for categories, brands, products, customers and orders, and
WordPress's wp/v2 for blog posts. Both use Basic auth: wc/v3 the consumer key and secret, wp/v2
the optional credentials `wp_username` / `wp_application_password` (a WordPress application
password), falling back to the consumer key and secret, which the sandbox accepts.

Reads are pages in id order with the cursor `{"page": n}` — except categories: `read_page`
answers the whole tree in one page, parents first (by depth, then id), with next_cursor None,
because the engine creates a tree in one batch and a child needs its parent's target id.
A cursor may also carry `modified_after` / `modified_before` (ISO dates): they are passed on
for the entities in MODIFIED_FILTER; WooCommerce has no such filter on customers and terms (it
ignores the parameter and answers everything), so for those the window is not sent and every
record comes back — a delta must dedupe them by content hash.

Delta reads (`supports_changes`, `read_changes`, `list_ids`) are in changes.py: an id-ordered
offset scan whose pages overlap, so that no record is skipped while the shop keeps changing.

Writes go through each entity's `batch` endpoint in chunks of at most 100 (posts: one request
each, max_write_batch["posts"] a call). A per-item error becomes a failed WriteResult with the
platform's status and code (extra["code"], and extra["resource_id"] when the platform names the
record that holds a duplicate), retryable for 5xx.
"""

from __future__ import annotations

import html
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from typing import Any

import httpx

from apps.stores.connectors.base import (
    Connector,
    ConnectorError,
    Page,
    WriteItem,
    WriteResult,
)
from apps.stores.connectors.http import HttpClient
from apps.stores.connectors.woocommerce import mapping
from apps.stores.connectors.woocommerce.changes import ChangesMixin
from apps.stores.connectors.woocommerce.common import (
    BATCH_LIMIT,
    answers,
    chunks,
    error_code,
    failed,
    header_int,
    item_failed,
)
from apps.stores.connectors.woocommerce.posts import (
    POST_BATCH,
    READ_PARAMS,
    PostsMixin,
    post_from_canonical,
    post_to_canonical,
)
from apps.stores.connectors.woocommerce.products import (
    ProductsMixin,
    product_from_canonical,
    product_to_canonical,
)
from apps.stores.connectors.woocommerce.urls import storefront_url


@dataclass(frozen=True)
class Endpoint:
    path: str
    gone_code: str  # what WooCommerce answers for an id that is not (or no longer) there
    params: dict[str, Any] = field(default_factory=dict)


ENDPOINTS: dict[str, Endpoint] = {
    "categories": Endpoint("products/categories", "woocommerce_rest_term_invalid"),
    "brands": Endpoint("products/brands", "woocommerce_rest_term_invalid"),
    "products": Endpoint("products", "woocommerce_rest_product_invalid_id"),
    # Without role=all, WooCommerce lists only users whose role is "customer".
    "customers": Endpoint("customers", "woocommerce_rest_invalid_id", {"role": "all"}),
    "orders": Endpoint("orders", "woocommerce_rest_shop_order_invalid_id"),
}
ENTITIES = (*ENDPOINTS, "posts")


class WooCommerceConnector(ProductsMixin, PostsMixin, ChangesMixin, Connector):
    platform = "woocommerce"
    max_write_batch = {
        "categories": BATCH_LIMIT,
        "brands": BATCH_LIMIT,
        "products": BATCH_LIMIT,
        "customers": BATCH_LIMIT,
        "orders": BATCH_LIMIT,
        "posts": POST_BATCH,
    }
    #: Entities whose listing filters by modification date (see the module docstring).
    MODIFIED_FILTER = frozenset({"products", "orders", "posts"})

    def __init__(
        self,
        base_url: str,
        credentials: dict[str, str],
        *,
        transport: httpx.BaseTransport | None = None,
        timeout: float = 30.0,
        max_attempts: int = 5,
        **http_options: Any,
    ) -> None:
        key = credentials.get("consumer_key") or ""
        secret = credentials.get("consumer_secret") or ""
        if not key or not secret:
            # Name the missing fields, never their values.
            raise ConnectorError("WooCommerce needs consumer_key and consumer_secret credentials")
        self.base_url = base_url.rstrip("/")
        options = {
            "auth": httpx.BasicAuth(key, secret),
            "transport": transport,
            "timeout": timeout,
            "max_attempts": max_attempts,
            **http_options,
        }
        self._http = HttpClient(f"{self.base_url}/wp-json/wc/v3/", **options)
        # WordPress itself takes an application password; without one the consumer key and
        # secret are tried (the sandbox accepts them).
        wp_user = credentials.get("wp_username") or key
        wp_password = credentials.get("wp_application_password") or secret
        wp_options = {**options, "auth": httpx.BasicAuth(wp_user, wp_password)}
        self._wp = HttpClient(f"{self.base_url}/wp-json/wp/v2/", **wp_options)
        # id → raw category; category trees are small, so one read serves a connector's life.
        self._category_tree: dict[str, dict[str, Any]] | None = None

    def close(self) -> None:
        self._http.close()
        self._wp.close()

    def storefront_url(self, entity: str, raw: dict[str, Any]) -> str | None:
        """The record's storefront URL (absolute) or path on the site (terms): see urls.py."""
        return storefront_url(entity, raw, self._categories)

    @staticmethod
    def _check(entity: str) -> None:
        if entity not in ENTITIES:
            raise ConnectorError(
                f"The WooCommerce connector does not handle {entity!r} "
                f"(it handles {', '.join(ENTITIES)})."
            )

    # --- reads -----------------------------------------------------------------------------

    def _get_list(self, path: str, params: dict[str, Any]) -> tuple[list[dict], httpx.Response]:
        body, response = self._http.json("GET", path, params=params)
        if not isinstance(body, list):
            raise ConnectorError(f"GET {path}: expected a JSON list")
        return body, response

    def _list_for(
        self, entity: str, params: dict[str, Any], *, full: bool = True
    ) -> tuple[list[dict[str, Any]], httpx.Response]:
        """One listing request of an entity, with the parameters every read of it needs (posts
        in full: context=edit and _embed, unless only ids are wanted)."""
        if entity == "posts":
            base = READ_PARAMS if full else {"status": READ_PARAMS["status"]}
            return self._wp_list("posts", {**base, **params})
        endpoint = ENDPOINTS[entity]
        return self._get_list(endpoint.path, {**endpoint.params, **params})

    def _all(self, path: str, params: dict[str, Any]) -> list[dict[str, Any]]:
        found: list[dict[str, Any]] = []
        page = 1
        while True:
            paging = {"per_page": BATCH_LIMIT, "page": page, "orderby": "id", "order": "asc"}
            batch, response = self._get_list(path, {**params, **paging})
            found.extend(batch)
            if page >= (header_int(response, "X-WP-TotalPages") or 1) or not batch:
                return found
            page += 1

    def _categories(self, *, refresh: bool = False) -> dict[str, dict[str, Any]]:
        if self._category_tree is None or refresh:
            records = self._all("products/categories", {})
            self._category_tree = {str(c["id"]): c for c in records}
        return self._category_tree

    def count(self, entity: str) -> int:
        self._check(entity)
        if entity == "posts":
            _, response = self._wp_list("posts", {"per_page": 1, "status": "any"})
            path = "posts"
        else:
            endpoint = ENDPOINTS[entity]
            _, response = self._get_list(endpoint.path, {**endpoint.params, "per_page": 1})
            path = endpoint.path
        total = header_int(response, "X-WP-Total")
        if total is None:
            raise ConnectorError(f"GET {path}: the response has no X-WP-Total header")
        return total

    def read_page(self, entity: str, cursor: dict[str, Any] | None, page_size: int) -> Page:
        """One page in id order; the cursor is `{"page": n}` (offset pages, as WooCommerce has
        no keyset paging: a delete during a full read can shift a record into a page already
        read — a verify or delta run picks it up). Categories: the whole tree, parents first,
        in one page (next_cursor None)."""
        self._check(entity)
        cursor = cursor or {}
        page = int(cursor.get("page", 1))
        if entity == "categories":
            if page > 1:
                return Page(records=[], total=len(self._categories()), next_cursor=None)
            tree = self._categories(refresh=True)
            ordered = sorted(tree.values(), key=lambda c: (self._depth(c, tree), int(c["id"])))
            return Page(records=ordered, total=len(ordered), next_cursor=None)
        per_page = max(1, min(page_size, BATCH_LIMIT))
        params: dict[str, Any] = {"page": page, "per_page": per_page, "orderby": "id"}
        params["order"] = "asc"
        if entity in self.MODIFIED_FILTER:
            for name in ("modified_after", "modified_before"):
                if cursor.get(name):
                    params[name] = cursor[name]
        if entity == "posts":
            records, response = self._wp_list("posts", {**READ_PARAMS, **params})
        else:
            endpoint = ENDPOINTS[entity]
            records, response = self._get_list(endpoint.path, {**endpoint.params, **params})
        total = header_int(response, "X-WP-Total")
        pages = header_int(response, "X-WP-TotalPages")
        # Without the header, a full page is taken to mean there may be more.
        more = len(records) == per_page if pages is None else page < pages
        next_cursor = {**cursor, "page": page + 1} if more and records else None
        if entity == "products":
            records = self._embed(records)
        return Page(records=records, total=total, next_cursor=next_cursor)

    @staticmethod
    def _depth(category: dict[str, Any], tree: dict[str, dict[str, Any]]) -> int:
        depth, parent, seen = 0, str(category.get("parent") or 0), set()
        while parent != "0" and parent in tree and parent not in seen:
            seen.add(parent)
            depth += 1
            parent = str(tree[parent].get("parent") or 0)
        return depth

    def read_by_ids(self, entity: str, ids: list[str]) -> list[dict[str, Any]]:
        self._check(entity)
        wanted = [str(i) for i in ids]
        if entity == "posts":
            found = self._posts_by_ids(wanted)
            return [found[i] for i in wanted if i in found]
        endpoint = ENDPOINTS[entity]
        numeric = [i for i in wanted if i.isdigit()]
        found = {}
        for chunk in chunks(numeric, BATCH_LIMIT):
            params = {**endpoint.params, "include": ",".join(chunk), "per_page": BATCH_LIMIT}
            records, _ = self._get_list(endpoint.path, {**params, "orderby": "id"})
            if entity == "products":
                records = self._embed(records)
            found.update({str(r["id"]): r for r in records})
        if entity == "categories" and self._category_tree is not None:
            self._category_tree.update(found)
        return [found[i] for i in wanted if i in found]

    def find_by_natural_key(self, entity: str, key: str) -> dict[str, Any] | None:
        self._check(entity)
        if not key:
            return None
        finder = {
            "categories": self._find_category,
            "brands": self._find_brand,
            "products": self._find_product,
            "customers": self._find_customer,
            "orders": self._find_order,
            "posts": self._find_post,
        }[entity]
        return finder(key)

    def _find_category(self, path: str) -> dict[str, Any] | None:
        for refresh in (False, True):  # a miss may be a category created since the tree was read
            tree = self._categories(refresh=refresh)
            matches = [c for c in tree.values() if self._path_or_none(c, tree) == path]
            if matches:
                return min(matches, key=lambda c: int(c["id"]))
        return None

    @staticmethod
    def _path_or_none(category: dict[str, Any], tree: dict[str, dict[str, Any]]) -> str | None:
        try:
            return mapping.category_path(category, tree)
        except ValueError:
            return None

    def _find_brand(self, name: str) -> dict[str, Any] | None:
        # WordPress stores and searches term names HTML-escaped ("Harbor &amp; Pine").
        found = self._all("products/brands", {"search": html.escape(name, quote=False)})
        # WordPress term names are unique case-insensitively; the exact spelling wins.
        exact = [b for b in found if mapping.brand_to_canonical(b)["name"] == name]
        loose = [b for b in found if mapping.brand_to_canonical(b)["name"].lower() == name.lower()]
        matches = exact or loose
        return min(matches, key=lambda b: int(b["id"])) if matches else None

    def _find_product(self, sku: str) -> dict[str, Any] | None:
        # The sku filter also returns variations (and, for "a,b", products "a" and "b"): only
        # a product whose own SKU is the key is the record asked for.
        found, _ = self._get_list("products", {"sku": sku, "per_page": BATCH_LIMIT})
        match = next(
            (p for p in found if p.get("sku") == sku and p.get("type") != "variation"), None
        )
        return self._embed([match])[0] if match else None

    def _find_customer(self, email: str) -> dict[str, Any] | None:
        key = email.strip().lower()
        found, _ = self._get_list(
            "customers", {"email": key, "role": "all", "orderby": "id", "order": "asc"}
        )
        matches = [c for c in found if str(c.get("email", "")).strip().lower() == key]
        return min(matches, key=lambda c: int(c["id"])) if matches else None

    def _find_order(self, reference: str) -> dict[str, Any] | None:
        """Only an order this migration wrote carries the reference (meta _migrator_reference);
        a target's own order with that number is a different order and is never adopted."""
        for order in self._all("orders", {"search": reference, "status": "any"}):
            for entry in order.get("meta_data") or []:
                if entry.get("key") == mapping.REFERENCE_KEY and str(entry.get("value")) == (
                    reference
                ):
                    return order
        return None

    # --- writes ----------------------------------------------------------------------------

    def create(self, entity: str, items: list[WriteItem]) -> list[WriteResult]:
        self._check(entity)
        return self._write(entity, "create", items)

    def update(self, entity: str, items: list[WriteItem]) -> list[WriteResult]:
        self._check(entity)
        if entity == "orders":
            items = self._replacing_lines(items)
        return self._write(entity, "update", items)

    def _write(self, entity: str, op: str, items: list[WriteItem]) -> list[WriteResult]:
        if entity == "products":
            return self._write_products(op, items)
        if entity == "posts":
            return self._write_posts(op, items)
        results = self._write_batches(ENDPOINTS[entity], op, items)
        if entity == "categories" and self._category_tree is not None:
            for result in results:
                if result.ok and result.record:
                    self._category_tree[str(result.record["id"])] = result.record
        return results

    def _write_batches(
        self, endpoint: Endpoint, op: str, items: list[WriteItem]
    ) -> list[WriteResult]:
        results: dict[int, WriteResult] = {}
        sendable: list[tuple[int, WriteItem, dict[str, Any]]] = []
        for index, item in enumerate(items):
            payload = dict(item.payload)
            if op == "update":
                if not str(item.target_id or "").isdigit():
                    results[index] = WriteResult(
                        ref=item.ref,
                        ok=False,
                        error=f"target id {item.target_id!r} is not a WooCommerce id",
                    )
                    continue
                payload["id"] = int(item.target_id)
            sendable.append((index, item, payload))
        sent_any = False
        for chunk in chunks(sendable, BATCH_LIMIT):
            body = {op: [payload for _, _, payload in chunk]}
            try:
                answer, _ = self._http.json("POST", f"{endpoint.path}/batch", json=body)
            except ConnectorError as exc:
                if not sent_any:
                    raise
                # Earlier chunks were written: answer for every item rather than lose them.
                for index, item, _ in chunk:
                    results[index] = failed(item.ref, exc)
                continue
            sent_any = True
            for (index, item, _), got in zip(chunk, answers(answer, op, len(chunk)), strict=True):
                if got.get("error"):
                    results[index] = item_failed(item.ref, got["error"])
                else:
                    results[index] = WriteResult(
                        item.ref, ok=True, target_id=str(got.get("id")), record=got
                    )
        return [results[i] for i in range(len(items))]

    def _replacing_lines(self, items: list[WriteItem]) -> list[WriteItem]:
        """An order update replaces its lines: WooCommerce adds lines without an id and keeps
        the others, so the current lines are removed (product_id null / method_id null) unless
        they already are what the payload asks for."""
        ids = [str(i.target_id) for i in items if str(i.target_id or "").isdigit()]
        current = {str(o["id"]): o for o in self.read_by_ids("orders", ids)}
        replaced = []
        for item in items:
            order = current.get(str(item.target_id))
            payload = dict(item.payload)
            if order is not None and "line_items" in payload:
                old = order.get("line_items") or []
                if _lines_key(old) == _lines_key(payload["line_items"]):
                    del payload["line_items"]
                else:
                    removals = [{"id": line["id"], "product_id": None} for line in old]
                    payload["line_items"] = removals + payload["line_items"]
            if order is not None and "shipping_lines" in payload:
                old = order.get("shipping_lines") or []
                if _shipping_key(old) == _shipping_key(payload["shipping_lines"]):
                    del payload["shipping_lines"]
                else:
                    removals = [{"id": line["id"], "method_id": None} for line in old]
                    payload["shipping_lines"] = removals + payload["shipping_lines"]
            replaced.append(WriteItem(ref=item.ref, payload=payload, target_id=item.target_id))
        return replaced

    def delete(self, entity: str, ids: list[str]) -> list[WriteResult]:
        self._check(entity)
        if entity == "posts":
            return self._delete_posts(ids)
        endpoint = ENDPOINTS[entity]
        valid = [str(i) for i in ids if str(i).isdigit()]
        by_id: dict[str, WriteResult] = {}
        sent_any = False
        for chunk in chunks(valid, BATCH_LIMIT):
            try:
                body, _ = self._http.json(
                    "POST", f"{endpoint.path}/batch", json={"delete": [int(i) for i in chunk]}
                )
            except ConnectorError as exc:
                if not sent_any:
                    raise
                for ref in chunk:
                    by_id[ref] = failed(ref, exc)
                continue
            sent_any = True
            for ref, answer in zip(chunk, answers(body, "delete", len(chunk)), strict=True):
                error = answer.get("error")
                if error and error_code(error) == endpoint.gone_code:
                    # Already gone: a repeated delete (after a lost answer) has its effect.
                    by_id[ref] = WriteResult(
                        ref=ref, ok=True, target_id=ref, extra={"already_absent": True}
                    )
                elif error:
                    by_id[ref] = item_failed(ref, error)
                else:
                    by_id[ref] = WriteResult(
                        ref=ref, ok=True, target_id=str(answer.get("id", ref)), record=answer
                    )
        if entity == "categories" and self._category_tree is not None:
            for ref, result in by_id.items():
                if result.ok:
                    self._category_tree.pop(ref, None)
        results = []
        noun = entity.removesuffix("s").replace("categorie", "category")
        for ref in ids:
            result = by_id.get(str(ref))
            if result is None:
                result = WriteResult(
                    ref=str(ref), ok=False, error=f"{ref!r} is not a WooCommerce {noun} id"
                )
            results.append(result)
        return results

    # --- mapping ---------------------------------------------------------------------------

    def to_canonical(self, entity: str, raw: dict[str, Any]) -> dict[str, Any]:
        self._check(entity)
        if entity == "categories":
            return mapping.category_to_canonical(raw, self._tree_for(raw))
        return {
            "brands": mapping.brand_to_canonical,
            "products": product_to_canonical,
            "customers": mapping.customer_to_canonical,
            "orders": mapping.order_to_canonical,
            "posts": post_to_canonical,
        }[entity](raw)

    def _tree_for(self, raw: Any) -> dict[str, dict[str, Any]]:
        """The cached tree, read again once if the category's ancestors are not all in it."""
        tree = self._categories()
        if isinstance(raw, dict) and self._path_or_none(raw, tree) is None:
            tree = self._categories(refresh=True)
        return tree

    def from_canonical(self, entity: str, canonical: dict[str, Any]) -> dict[str, Any]:
        self._check(entity)
        return {
            "categories": mapping.category_from_canonical,
            "brands": mapping.brand_from_canonical,
            "products": product_from_canonical,
            "customers": mapping.customer_from_canonical,
            "orders": mapping.order_from_canonical,
            "posts": post_from_canonical,
        }[entity](canonical)


def _decimal(value: Any) -> Decimal | None:
    try:
        return Decimal(str(value)) if value not in (None, "") else Decimal("0")
    except InvalidOperation:
        return None


def _lines_key(lines: list[dict[str, Any]]) -> list[tuple]:
    return [
        (
            line.get("sku") or None,
            line.get("name") or "",
            int(line.get("quantity") or 0),
            _decimal(line.get("subtotal")),
            _decimal(line.get("total")),
            _decimal(line.get("total_tax")),
        )
        for line in lines
    ]


def _shipping_key(lines: list[dict[str, Any]]) -> list[tuple]:
    return [
        (line.get("method_id") or "", _decimal(line.get("total")), _decimal(line.get("total_tax")))
        for line in lines
    ]
