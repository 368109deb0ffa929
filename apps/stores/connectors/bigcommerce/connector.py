"""The BigCommerce connector: one store's categories, brands, products, customers, orders and
blog posts, over its v3 and v2 REST APIs.

The API lives at {base_url}/stores/{store_hash}/v3/ and /v2/ (the real one at
api.bigcommerce.com, a sandbox at {server}/sandbox/<slug>). Each entity has a handler (a module
of this package) that knows its endpoints, limits and canonical mapping; the connector holds
the HTTP clients and dispatches to the handlers.

Delta reads (`supports_changes`, `read_changes`, `list_ids`) are keyset scans per entity,
described in changes.py.

Plain Python, no Django: the engine builds it through apps.stores.services.build_connector.
The access token lives only inside the HTTP clients' headers; it is never logged or put in an
exception message.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import datetime
from typing import Any
from urllib.parse import quote

import httpx

from apps.stores.connectors.base import Connector, ConnectorError, Page, WriteItem, WriteResult
from apps.stores.connectors.bigcommerce.api import Api
from apps.stores.connectors.bigcommerce.brands import BrandHandler
from apps.stores.connectors.bigcommerce.categories import CategoryHandler
from apps.stores.connectors.bigcommerce.common import Handler
from apps.stores.connectors.bigcommerce.customers import CustomerHandler
from apps.stores.connectors.bigcommerce.orders import OrderHandler
from apps.stores.connectors.bigcommerce.posts import PostHandler
from apps.stores.connectors.bigcommerce.products import ProductHandler
from apps.stores.connectors.bigcommerce.redirects import RedirectsApi
from apps.stores.connectors.bigcommerce.urls import storefront_path
from apps.stores.connectors.http import HttpClient

_RATE_HEADERS = {
    "quota": "X-Rate-Limit-Requests-Quota",
    "left": "X-Rate-Limit-Requests-Left",
    "window_ms": "X-Rate-Limit-Time-Window-Ms",
    "reset_ms": "X-Rate-Limit-Time-Reset-Ms",
}


class BigCommerceConnector(Connector):
    platform = "bigcommerce"

    def __init__(
        self,
        base_url: str,
        credentials: dict[str, Any],
        *,
        transport: httpx.BaseTransport | None = None,
        timeout: float = 30.0,
        max_attempts: int = 5,
        **http_options: Any,
    ) -> None:
        store_hash = str(credentials.get("store_hash") or "").strip()
        token = str(credentials.get("access_token") or "").strip()
        if not store_hash or not token:
            raise ConnectorError("BigCommerce credentials need a store_hash and an access_token.")
        self.store_hash = store_hash
        #: The last rate-limit headers seen: quota, left, window_ms, reset_ms (ints) and
        #: seen_at (time.monotonic()), so the engine can share one budget across workers.
        self.last_rate_limit: dict[str, Any] = {}
        caller_hook: Callable[[httpx.Response], None] | None = http_options.pop("on_response", None)

        def on_response(response: httpx.Response) -> None:
            self._record_rate_limit(response)
            if caller_hook is not None:
                caller_hook(response)

        def client(attempts: int) -> HttpClient:
            return HttpClient(
                f"{base_url.rstrip('/')}/stores/{quote(store_hash, safe='')}/",
                headers={"X-Auth-Token": token, "Content-Type": "application/json"},
                transport=transport,
                timeout=timeout,
                max_attempts=attempts,
                on_response=on_response,
                **http_options,
            )

        #: The shared HTTP client (Connector.requests_sent reads `http`).
        self.http = client(max_attempts)
        self.client = self.http
        # Order creates must not be re-sent blindly (the platform would keep both orders):
        # they go through a client that does not retry, and the handler decides.
        self._once = client(1)
        api = Api(self.http)
        products = ProductHandler(api)
        self._handlers: dict[str, Handler] = {
            "categories": CategoryHandler(api),
            "brands": BrandHandler(api),
            "products": products,
            "customers": CustomerHandler(api),
            "orders": OrderHandler(api, Api(self._once), products),
            "posts": PostHandler(api),
        }
        self.max_write_batch = {
            entity: handler.max_write_batch for entity, handler in self._handlers.items()
        }
        #: 301 redirects (apps.redirects pushes through it, under the same rate limiter).
        self.redirects = RedirectsApi(api)

    def __repr__(self) -> str:
        return f"<BigCommerceConnector store_hash={self.store_hash!r}>"

    def storefront_url(self, entity: str, raw: dict[str, Any]) -> str | None:
        """The record's storefront path (BigCommerce answers paths, not URLs)."""
        return storefront_path(entity, raw)

    def close(self) -> None:
        self.http.close()
        self._once.close()

    @property
    def requests_sent(self) -> int:
        return self.http.requests_sent + self._once.requests_sent

    @staticmethod
    def record_id(raw: dict[str, Any]) -> str:
        # Tree categories carry `category_id`; every other record `id`.
        return str(raw["id"] if "id" in raw else raw["category_id"])

    # --- plumbing ----------------------------------------------------------------------------

    def _record_rate_limit(self, response: httpx.Response) -> None:
        seen: dict[str, Any] = {}
        for key, header in _RATE_HEADERS.items():
            value = response.headers.get(header)
            if value is not None:
                try:
                    seen[key] = int(value)
                except ValueError:
                    continue
        if seen:
            seen["status"] = response.status_code
            seen["seen_at"] = time.monotonic()
            self.last_rate_limit = seen

    def handler(self, entity: str) -> Handler:
        try:
            return self._handlers[entity]
        except KeyError:
            raise ConnectorError(
                f"The BigCommerce connector does not handle {entity!r} "
                f"(it handles {', '.join(self._handlers)})."
            ) from None

    # --- the Connector interface -------------------------------------------------------------

    def count(self, entity: str) -> int:
        return self.handler(entity).count()

    def read_page(self, entity: str, cursor: dict[str, Any] | None, page_size: int) -> Page:
        return self.handler(entity).read_page(cursor, page_size)

    def read_by_ids(self, entity: str, ids: list[str]) -> list[dict[str, Any]]:
        return self.handler(entity).read_by_ids(ids) if ids else []

    def find_by_natural_key(self, entity: str, key: str) -> dict[str, Any] | None:
        return self.handler(entity).find(key)

    def create(self, entity: str, items: list[WriteItem]) -> list[WriteResult]:
        return self.handler(entity).create(items) if items else []

    def update(self, entity: str, items: list[WriteItem]) -> list[WriteResult]:
        return self.handler(entity).update(items) if items else []

    def delete(self, entity: str, ids: list[str]) -> list[WriteResult]:
        return self.handler(entity).delete(ids) if ids else []

    def to_canonical(self, entity: str, raw: dict[str, Any]) -> dict[str, Any]:
        return self.handler(entity).to_canonical(raw)

    def from_canonical(self, entity: str, canonical: dict[str, Any]) -> dict[str, Any]:
        return self.handler(entity).from_canonical(canonical)

    def write_notes(self, entity: str, canonical: dict[str, Any]) -> list[str]:
        return self.handler(entity).write_notes(canonical)

    # --- delta reads (changes.py) --------------------------------------------------------------

    def supports_changes(self, entity: str) -> bool:
        # Products, customers (v3 date_modified:min) and orders (v2 min_date_modified);
        # categories, brands and blog posts carry no modification time.
        handler = self._handlers.get(entity)
        return handler is not None and handler.changes

    def read_changes(
        self,
        entity: str,
        since: datetime | None,
        until: datetime,
        cursor: dict[str, Any] | None,
        page_size: int,
    ) -> Page:
        return self.handler(entity).read_changes(since, until, cursor, page_size)

    def list_ids(self, entity: str) -> list[str]:
        return self.handler(entity).list_ids()
