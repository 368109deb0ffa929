"""Who is calling: the store in the URL, its hash, and the X-Auth-Token header."""

from __future__ import annotations

from django.http import HttpRequest

from apps.sandbox.bigcommerce.errors import STORE_NOT_FOUND, UNAUTHORIZED, ApiError
from apps.sandbox.models import Flavor, SandboxStore


class Unauthorized(ApiError):
    """401 that still knows the store, so the response can carry its quota headers."""

    def __init__(self, store: SandboxStore) -> None:
        super().__init__(401, UNAUTHORIZED)
        self.store = store


def authenticate(request: HttpRequest, slug: str, store_hash: str) -> SandboxStore:
    store = SandboxStore.objects.filter(slug=slug, flavor=Flavor.BIGCOMMERCE).first()
    if store is None:
        raise ApiError(404, STORE_NOT_FOUND)
    token = request.headers.get("X-Auth-Token", "")
    # One answer for every failure: a caller must not learn which part was wrong.
    if store_hash != store.key_id or not token or not store.check_secret(token):
        raise Unauthorized(store)
    return store
