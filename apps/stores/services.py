"""Store connections: create, update, and build the connector for one."""

from __future__ import annotations

from contextlib import contextmanager
from typing import Any

import httpx
from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction

from apps.core import audit
from apps.stores.connectors.base import Connector
from apps.stores.models import CREDENTIAL_FIELDS, Store
from apps.stores.ratelimit import limiter_for

# In-process transport (tests mount the sandbox's WSGI app); None means the real network.
_transport: httpx.BaseTransport | None = None


@contextmanager
def transport_override(transport: httpx.BaseTransport | None):
    global _transport
    previous, _transport = _transport, transport
    try:
        yield
    finally:
        _transport = previous


def current_transport() -> httpx.BaseTransport | None:
    """The transport HTTP clients of this process use: an override (the tests' in-process
    sandbox) or None for the real network."""
    return _transport


def check_credentials(platform: str, credentials: dict[str, Any]) -> dict[str, str]:
    """The credentials a platform needs, as strings; ValidationError names what is missing."""
    fields = CREDENTIAL_FIELDS[platform]
    missing = [name for name in fields if not str(credentials.get(name) or "").strip()]
    if missing:
        raise ValidationError({"credentials": f"Missing: {', '.join(missing)}."})
    unknown = sorted(set(credentials) - set(fields))
    if unknown:
        raise ValidationError({"credentials": f"Unknown fields: {', '.join(unknown)}."})
    return {name: str(credentials[name]).strip() for name in fields}


@transaction.atomic
def create_store(
    *,
    user: Any,
    name: str,
    platform: str,
    base_url: str,
    credentials: dict[str, Any],
    requests_per_second: float = 0,
    storefront_url: str = "",
    request: Any = None,
) -> Store:
    store = Store(
        name=name,
        platform=platform,
        base_url=base_url.rstrip("/"),
        storefront_url=storefront_url.rstrip("/"),
        requests_per_second=requests_per_second,
        created_by=user if getattr(user, "is_authenticated", False) else None,
    )
    store.set_credentials(check_credentials(platform, credentials))
    store.full_clean()
    store.save()
    audit.record(
        action="store.created",
        obj=store,
        user=user,
        request=request,
        payload={
            "name": name,
            "platform": platform,
            "base_url": store.base_url,
            "storefront_url": store.storefront_url,
        },
    )
    return store


@transaction.atomic
def update_store(
    store: Store,
    *,
    user: Any,
    request: Any = None,
    credentials: dict[str, Any] | None = None,
    **fields: Any,
) -> Store:
    """Change a store's settings; credentials are replaced only when given (write-only)."""
    changed = sorted(fields)
    for key, value in fields.items():
        setattr(store, key, value)
    if credentials:
        store.set_credentials(check_credentials(store.platform, credentials))
        changed.append("credentials")
    store.full_clean()
    store.save()
    audit.record(
        action="store.updated",
        obj=store,
        user=user,
        request=request,
        payload={"changed": changed},
    )
    return store


def _rate_limit_hooks(store: Store, options: dict[str, Any]) -> dict[str, Any]:
    """HttpClient hooks that put every request under the store's shared budget; a caller's own
    before_request / on_response run after the limiter's."""
    if store.pk is None:
        return {}
    limiter = limiter_for(store)
    before = options.pop("before_request", None)
    after = options.pop("on_response", None)

    def before_request() -> None:
        limiter.before_request()
        if before is not None:
            before()

    def on_response(response: httpx.Response) -> None:
        limiter.on_response(response)
        if after is not None:
            after(response)

    return {"before_request": before_request, "on_response": on_response}


def build_connector(store: Store, **options: Any) -> Connector:
    """The connector for a store, with its decrypted credentials (never leave this object)."""
    credentials = store.decrypted_credentials()
    hooks = _rate_limit_hooks(store, options)  # takes the caller's own hooks out of options
    kwargs: dict[str, Any] = {
        "transport": _transport,
        "timeout": settings.HTTP_TIMEOUT_SECONDS,
        "max_attempts": settings.HTTP_MAX_ATTEMPTS,
        "backoff_base": settings.HTTP_BACKOFF_SECONDS,
        **options,
        **hooks,
    }
    if store.api_family == "woocommerce":
        from apps.stores.connectors.woocommerce import WooCommerceConnector

        return WooCommerceConnector(store.base_url, credentials, **kwargs)
    from apps.stores.connectors.bigcommerce import BigCommerceConnector

    return BigCommerceConnector(store.base_url, credentials, **kwargs)
