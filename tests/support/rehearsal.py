"""A project between two sandboxes: a seeded WooCommerce shop and an empty BigCommerce store,
reached over real HTTP (in-process through the WSGI transport, or through a live server)."""

from __future__ import annotations

from dataclasses import dataclass

import httpx

from apps.core.roles import Role
from apps.projects.models import Membership
from apps.projects.services import create_project
from apps.sandbox.demo_catalog import seed_woocommerce
from apps.sandbox.models import Flavor, SandboxStore
from apps.sandbox.services import create_sandbox_store, sandbox_base_url
from apps.stores.models import Platform
from apps.stores.services import create_store
from tests.factories import UserFactory

TESTSERVER = "http://localhost"


@dataclass
class Rehearsal:
    project: object
    source: SandboxStore
    target: SandboxStore
    source_credentials: dict
    target_credentials: dict
    transport: httpx.BaseTransport | None
    base: str = TESTSERVER

    def woo(self) -> httpx.Client:
        """A raw client on the source shop's wc/v3 API (to play the merchant)."""
        return httpx.Client(
            transport=self.transport,
            base_url=f"{sandbox_base_url(self.source, self.base)}/wp-json/wc/v3/",
            auth=(
                self.source_credentials["consumer_key"],
                self.source_credentials["consumer_secret"],
            ),
        )

    def big(self) -> httpx.Client:
        return httpx.Client(
            transport=self.transport,
            base_url=(
                f"{sandbox_base_url(self.target, self.base)}/stores/"
                f"{self.target_credentials['store_hash']}/v3/"
            ),
            headers={"X-Auth-Token": self.target_credentials["access_token"]},
        )

    def target_products(self) -> list[dict]:
        return list(self.target.records.filter(resource="product").values("object_id", "sku"))


def make_rehearsal(
    transport, products: int, base: str = TESTSERVER, slug_suffix: str = ""
) -> Rehearsal:
    user = UserFactory()
    source, source_credentials = create_sandbox_store(
        slug=f"src{slug_suffix}", name="Source", flavor=Flavor.WOOCOMMERCE
    )
    target, target_credentials = create_sandbox_store(
        slug=f"dst{slug_suffix}", name="Target", flavor=Flavor.BIGCOMMERCE
    )
    if products:
        seed_woocommerce(source, products)
    source_store = create_store(
        user=user,
        name="Source",
        platform=Platform.SANDBOX_WOOCOMMERCE,
        base_url=sandbox_base_url(source, base),
        credentials=source_credentials,
    )
    target_store = create_store(
        user=user,
        name="Target",
        platform=Platform.SANDBOX_BIGCOMMERCE,
        base_url=sandbox_base_url(target, base),
        credentials=target_credentials,
    )
    project = create_project(
        user=user, name="Rehearsal", source_store=source_store, target_store=target_store
    )
    assert Membership.objects.get(project=project, user=user).role == Role.ADMIN
    return Rehearsal(
        project, source, target, source_credentials, target_credentials, transport, base
    )
