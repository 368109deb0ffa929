"""Consumer key / secret checks, as WooCommerce's REST authentication does them.

Basic auth carries `consumer_key:consumer_secret`. A wrong key or secret is a
`woocommerce_rest_authentication_error`; no credentials at all fall through to the endpoint's
permission check, whose code names the action (`woocommerce_rest_cannot_view`, …_create, …).
Credentials in the query string (which real shops accept over HTTPS) are not supported here:
they end up in access logs.
"""

from __future__ import annotations

import base64
import binascii
import secrets

from django.http import HttpRequest

from apps.sandbox.models import Flavor, SandboxStore
from apps.sandbox.woocommerce.errors import WCError

# action → (code suffix, message) of WooCommerce's permission checks.
_DENIED: dict[str, tuple[str, str]] = {
    "list": ("cannot_view", "Sorry, you cannot list resources."),
    "view": ("cannot_view", "Sorry, you cannot view this resource."),
    "create": ("cannot_create", "Sorry, you are not allowed to create resources."),
    "edit": ("cannot_edit", "Sorry, you are not allowed to edit this resource."),
    "delete": ("cannot_delete", "Sorry, you are not allowed to delete this resource."),
    "batch": ("cannot_batch", "Sorry, you are not allowed to batch manipulate this resource."),
}


def _basic_credentials(request: HttpRequest) -> tuple[str, str] | None:
    header = request.META.get("HTTP_AUTHORIZATION", "")
    scheme, _, encoded = header.partition(" ")
    if scheme.lower() != "basic" or not encoded:
        return None
    try:
        decoded = base64.b64decode(encoded.strip(), validate=True).decode("utf-8")
    except (binascii.Error, UnicodeDecodeError):
        return None
    key, sep, secret = decoded.partition(":")
    return (key, secret) if sep else None


def find_store(slug: str) -> SandboxStore:
    store = SandboxStore.objects.filter(slug=slug, flavor=Flavor.WOOCOMMERCE).first()
    if store is None:
        raise WCError("rest_no_route", f"No WooCommerce sandbox store is served at {slug!r}.", 404)
    return store


def authenticate(request: HttpRequest, slug: str, action: str) -> SandboxStore:
    """The sandbox store the request may act on; WCError (404 / 401) otherwise."""
    store = find_store(slug)
    credentials = _basic_credentials(request)
    if credentials is None:
        suffix, message = _DENIED[action]
        raise WCError(f"woocommerce_rest_{suffix}", message, 401)
    key, secret = credentials
    if not secrets.compare_digest(key.encode(), store.key_id.encode()):
        raise WCError("woocommerce_rest_authentication_error", "Consumer key is invalid.", 401)
    if not store.check_secret(secret):
        raise WCError("woocommerce_rest_authentication_error", "Consumer secret is invalid.", 401)
    return store
