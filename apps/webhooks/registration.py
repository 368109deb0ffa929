"""Registering webhook subscriptions on a source store through its own API.

WooCommerce: POST wc/v3/webhooks per topic, with the delivery URL and the signing secret.
BigCommerce: POST v3/hooks per scope, with the secret in a custom header (the platform signs
nothing; the header is how the receiver knows the sender).

Registering is made repeatable: subscriptions already pointing at the delivery URL (an
earlier connect, or one whose answer was lost and whose create the HTTP client retried) are
removed first, so connecting again leaves exactly one subscription per topic.
"""

from __future__ import annotations

from typing import Any

from apps.stores.connectors.base import ConnectorError
from apps.stores.connectors.http import HttpClient
from apps.stores.models import Store
from apps.stores.services import build_connector

SECRET_HEADER = "X-Migrator-Webhook-Secret"  # noqa: S105 - a header name, not a secret
_WOO_PAGE = 100
_BIG_PAGE = 250


class RegistrationError(Exception):
    """The source store refused or could not be reached; the message says which call."""


def _woo_existing(http: HttpClient) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = []
    page = 1
    while True:
        body, response = http.json(
            "GET", "webhooks", params={"per_page": _WOO_PAGE, "page": page, "status": "all"}
        )
        found.extend(item for item in body or [] if isinstance(item, dict))
        try:
            pages = int(response.headers.get("X-WP-TotalPages", "1"))
        except ValueError:
            pages = 1
        if page >= pages:
            return found
        page += 1


def _register_woo(
    http: HttpClient, url: str, topics: list[str], secret: str
) -> list[dict[str, str]]:
    for old in _woo_existing(http):
        if old.get("delivery_url") == url:
            http.json("DELETE", f"webhooks/{old['id']}", params={"force": "true"})
    registered = []
    for topic in topics:
        body, _ = http.json(
            "POST",
            "webhooks",
            json={
                "name": f"Migrator delta sync: {topic}",
                "topic": topic,
                "delivery_url": url,
                "secret": secret,
                "status": "active",
            },
        )
        registered.append({"id": str(body["id"]), "topic": topic})
    return registered


def _big_existing(http: HttpClient) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = []
    page = 1
    while True:
        body, _ = http.json("GET", "v3/hooks", params={"page": page, "limit": _BIG_PAGE})
        body = body or {}
        found.extend(item for item in body.get("data") or [] if isinstance(item, dict))
        pages = (body.get("meta") or {}).get("pagination", {}).get("total_pages", 1)
        if not isinstance(pages, int) or page >= pages:
            return found
        page += 1


def _register_big(
    http: HttpClient, url: str, scopes: list[str], secret: str
) -> list[dict[str, str]]:
    for old in _big_existing(http):
        if old.get("destination") == url:
            http.json("DELETE", f"v3/hooks/{old['id']}")
    registered = []
    for scope in scopes:
        body, _ = http.json(
            "POST",
            "v3/hooks",
            json={
                "scope": scope,
                "destination": url,
                "is_active": True,
                "events_history_enabled": False,
                "headers": {SECRET_HEADER: secret},
            },
        )
        registered.append({"id": str(body["data"]["id"]), "topic": scope})
    return registered


def register(store: Store, url: str, topics: list[str], secret: str) -> list[dict[str, str]]:
    """Subscribe `url` to `topics` on the store; [{"id", "topic"}] of what was registered."""
    connector = build_connector(store)
    try:
        # The connectors' own clients: the store's credentials, rate limiter and (in tests)
        # transport, without decrypting credentials anywhere else.
        if store.api_family == "woocommerce":
            return _register_woo(connector._http, url, topics, secret)  # type: ignore[attr-defined]
        return _register_big(connector.http, url, topics, secret)  # type: ignore[attr-defined]
    except ConnectorError as exc:
        raise RegistrationError(
            f"The source store refused the webhook registration: {exc}"
        ) from None
    except (KeyError, TypeError) as exc:
        raise RegistrationError(
            f"The source store answered the webhook registration unexpectedly ({exc!r})."
        ) from None
    finally:
        connector.close()
