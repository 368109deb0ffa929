"""The demo: a sandbox WooCommerce store with a catalog, an empty sandbox BigCommerce store, a
project between them and an admin to log in with. Loading twice changes nothing."""

from __future__ import annotations

import secrets
from dataclasses import dataclass

from django.conf import settings
from django.contrib.auth import get_user_model
from django.db import transaction

from apps.core.roles import Role
from apps.projects.models import Membership, Project
from apps.projects.services import create_project
from apps.sandbox.demo_catalog import seed_store
from apps.sandbox.models import Flavor, SandboxStore
from apps.sandbox.services import create_sandbox_store, sandbox_base_url
from apps.stores.connectors.canonical import ENTITIES
from apps.stores.models import Platform, Store
from apps.stores.services import create_store

DEMO_USERNAME = "demo"
PROJECT_NAME = "Demo: WooCommerce → BigCommerce"
SOURCE_SLUG, TARGET_SLUG = "demo-woo", "demo-big"


@dataclass
class Demo:
    project: Project
    username: str
    password: str
    products: int


def _demo_password() -> str:
    path = settings.VAR_DIR / "demo-password"
    if not path.exists():
        path.write_text(secrets.token_urlsafe(12))
        path.chmod(0o600)
    return path.read_text().strip()


def _sandbox_store(user, *, slug: str, name: str, flavor: str, platform: str, quota: int) -> Store:
    sandbox = SandboxStore.objects.filter(slug=slug).first()
    existing = Store.objects.filter(base_url=sandbox_base_url(sandbox)).first() if sandbox else None
    if existing:
        return existing
    sandbox, credentials = create_sandbox_store(
        slug=slug, name=name, flavor=flavor, quota_requests=quota, quota_window_ms=30000
    )
    return create_store(
        user=user,
        name=name,
        platform=platform,
        base_url=sandbox_base_url(sandbox),
        credentials=credentials,
    )


@transaction.atomic
def load_demo(*, products: int = 500, quota_per_30s: int = 900) -> Demo:
    password = _demo_password()
    user, created = get_user_model().objects.get_or_create(
        username=DEMO_USERNAME, defaults={"email": "demo@example.com", "is_staff": True}
    )
    if created or not user.check_password(password):
        user.set_password(password)
        user.save()
    project = Project.objects.filter(name=PROJECT_NAME).first()
    if project is None:
        source = _sandbox_store(
            user,
            slug=SOURCE_SLUG,
            name="Demo WooCommerce shop",
            flavor=Flavor.WOOCOMMERCE,
            platform=Platform.SANDBOX_WOOCOMMERCE,
            quota=0,
        )
        target = _sandbox_store(
            user,
            slug=TARGET_SLUG,
            name="Demo BigCommerce store",
            flavor=Flavor.BIGCOMMERCE,
            platform=Platform.SANDBOX_BIGCOMMERCE,
            quota=quota_per_30s,
        )
        sandbox = SandboxStore.objects.get(slug=SOURCE_SLUG)
        if not sandbox.records.filter(resource="product").exists():
            seed_store(
                sandbox,
                products,
                categories=True,
                brands=True,
                customers=products // 2,
                orders=products,
                posts=max(1, products // 20),
            )
        project = create_project(
            user=user,
            name=PROJECT_NAME,
            source_store=source,
            target_store=target,
            entities=list(ENTITIES),
        )
    Membership.objects.get_or_create(project=project, user=user, defaults={"role": Role.ADMIN})
    count = SandboxStore.objects.get(slug=SOURCE_SLUG).records.filter(resource="product").count()
    return Demo(project=project, username=DEMO_USERNAME, password=password, products=count)
