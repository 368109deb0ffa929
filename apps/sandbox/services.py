"""Creating sandbox stores and the Store connections that point at them."""

from __future__ import annotations

import secrets

from django.conf import settings
from django.db import transaction

from apps.sandbox.models import Flavor, SandboxStore, hash_secret


def new_credentials(flavor: str) -> tuple[str, str, dict[str, str]]:
    """(key_id, secret, credentials as a Store keeps them) for a new sandbox store."""
    if flavor == Flavor.WOOCOMMERCE:
        key = "ck_" + secrets.token_hex(20)
        secret = "cs_" + secrets.token_hex(20)
        return key, secret, {"consumer_key": key, "consumer_secret": secret}
    store_hash = secrets.token_hex(5)
    token = secrets.token_hex(16)
    return store_hash, token, {"store_hash": store_hash, "access_token": token}


def sandbox_base_url(sandbox: SandboxStore, public_url: str | None = None) -> str:
    """The store URL a connector is given, as it would be given a real shop's."""
    return f"{(public_url or settings.PUBLIC_URL).rstrip('/')}/sandbox/{sandbox.slug}"


@transaction.atomic
def create_sandbox_store(
    *, slug: str, name: str, flavor: str, quota_requests: int = 0, quota_window_ms: int = 30000
) -> tuple[SandboxStore, dict[str, str]]:
    """Create a sandbox and return it with its credentials (shown once, kept only hashed)."""
    key_id, secret, credentials = new_credentials(flavor)
    sandbox = SandboxStore.objects.create(
        slug=slug,
        name=name,
        flavor=flavor,
        key_id=key_id,
        secret_hash=hash_secret(secret),
        quota_requests=quota_requests,
        quota_window_ms=quota_window_ms,
    )
    return sandbox, credentials
