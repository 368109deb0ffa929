"""301 redirects of a BigCommerce store: `/v3/storefront/redirects`.

PUT upserts an array of `{from_path, site_id, to: {type, entity_id, url}}` (a redirect with the
same from_path and site_id is overwritten) and answers 201 with the stored redirects; GET lists
them paged (`page`, `limit`, `id:in`, `site_id`, `include=to_url`); DELETE takes `id:in`.
BigCommerce's documentation gives no batch size; clients in the wild send 100 per PUT after
larger payloads were refused (413), so that is the size used here (and the sandbox's limit).
Requests go through the connector's HttpClient, so they spend the store's shared rate budget.
"""

from __future__ import annotations

from typing import Any

from apps.stores.connectors.base import ConnectorError
from apps.stores.connectors.bigcommerce.common import MAX_PAGE, chunks, numeric_ids

PATH = "v3/storefront/redirects"
UPSERT_BATCH = 100
#: The site of a single-storefront store's default channel.
DEFAULT_SITE_ID = 1000


class RedirectsApi:
    def __init__(self, api: Any) -> None:
        self.api = api

    def upsert(self, redirects: list[dict[str, Any]]) -> list[dict[str, Any]]:
        """Upsert in batches; the stored redirects in the order sent. A refused batch raises
        ConnectorError naming the platform's reasons (422: which item, which field)."""
        stored: list[dict[str, Any]] = []
        for batch in chunks(redirects, UPSERT_BATCH):
            response = self.api.request("PUT", PATH, json=batch)
            if response.status_code >= 400:
                raise self.api.refuse("PUT", PATH, response)
            stored.extend(self.api.data(response, PATH))
        return stored

    def list_all(self, **filters: Any) -> list[dict[str, Any]]:
        return self.api.v3_all(PATH, {"include": "to_url", **filters})

    def read_by_ids(self, ids: list[str]) -> list[dict[str, Any]]:
        found: list[dict[str, Any]] = []
        for chunk in chunks(numeric_ids(ids), MAX_PAGE):
            found.extend(self.list_all(**{"id:in": ",".join(chunk)}))
        return found

    def delete(self, ids: list[str]) -> None:
        for chunk in chunks(numeric_ids(ids), MAX_PAGE):
            response = self.api.request("DELETE", PATH, params={"id:in": ",".join(chunk)})
            if response.status_code >= 400 and response.status_code != 404:
                raise ConnectorError(
                    f"DELETE {PATH}: HTTP {response.status_code}", status=response.status_code
                )
