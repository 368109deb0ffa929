"""Rehearsal stores: this server emulates a platform's API over HTTP for them.

A SandboxStore is the "remote platform"; the Store a project uses points at its URL like at a
real shop. Records live in SandboxObject as the platform's own JSON.
"""

from __future__ import annotations

import hashlib
import secrets

from django.db import models, transaction
from django.db.models import F, Q


class Flavor(models.TextChoices):
    WOOCOMMERCE = "woocommerce", "WooCommerce (wc/v3)"
    BIGCOMMERCE = "bigcommerce", "BigCommerce (v3)"


def hash_secret(value: str) -> str:
    return hashlib.sha256(value.encode()).hexdigest()


class SandboxStore(models.Model):
    slug = models.SlugField(max_length=60, unique=True)
    name = models.CharField(max_length=120)
    flavor = models.CharField(max_length=20, choices=Flavor.choices)
    # WooCommerce: consumer key; BigCommerce: store hash. Not secret on either platform.
    key_id = models.CharField(max_length=80)
    # sha256 of the consumer secret / access token: the sandbox checks, never stores, secrets.
    secret_hash = models.CharField(max_length=64)
    next_id = models.BigIntegerField(default=1)
    # BigCommerce-style quota: requests allowed per window (0 = unlimited).
    quota_requests = models.PositiveIntegerField(default=0)
    quota_window_ms = models.PositiveIntegerField(default=30000)
    window_started_ms = models.BigIntegerField(default=0)
    window_used = models.PositiveIntegerField(default=0)
    # Fault injection (apps/sandbox/faults.py; limits and edits in fault_settings.py).
    latency_ms = models.PositiveIntegerField(default=0)
    error_rate = models.FloatField(default=0)
    timeout_rate = models.FloatField(default=0)
    # Longer than a client's usual 30 s timeout, so a timed-out request looks like one.
    timeout_hang_ms = models.PositiveIntegerField(default=35000)
    drop_rate = models.FloatField(default=0)
    fault_seed = models.BigIntegerField(default=0)
    # Requests that drew from the fault sequence since the settings last changed: request n's
    # fate depends only on (fault_seed, n), so the same settings replay the same faults.
    fault_draws = models.BigIntegerField(default=0)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["slug"]

    def __str__(self) -> str:
        return f"{self.name} [{self.flavor}]"

    def check_secret(self, secret: str) -> bool:
        return secrets.compare_digest(self.secret_hash, hash_secret(secret))

    def allocate_ids(self, count: int = 1) -> list[int]:
        """Reserve `count` ids atomically (safe across web server threads and processes): the
        row lock held from the UPDATE to the read keeps another request from moving in between."""
        with transaction.atomic():
            SandboxStore.objects.filter(pk=self.pk).update(next_id=F("next_id") + count)
            last = SandboxStore.objects.values_list("next_id", flat=True).get(pk=self.pk)
        return list(range(last - count, last))


class SandboxObject(models.Model):
    store = models.ForeignKey(SandboxStore, on_delete=models.CASCADE, related_name="records")
    resource = models.CharField(max_length=40)  # "product", "variation", "variant" …
    object_id = models.BigIntegerField()
    parent_id = models.BigIntegerField(null=True, blank=True)
    sku = models.CharField(max_length=255, blank=True, default="")
    name = models.CharField(max_length=500, blank=True, default="")
    # Set only where the platform requires unique names (BigCommerce products): the database
    # constraint then refuses a duplicate even when two requests race.
    unique_name = models.CharField(max_length=500, null=True, blank=True)  # noqa: DJ001 NULL is 'no constraint'
    data = models.JSONField(default=dict)
    date_created = models.DateTimeField()
    date_modified = models.DateTimeField(db_index=True)

    class Meta:
        ordering = ["object_id"]
        constraints = [
            models.UniqueConstraint(
                fields=["store", "resource", "object_id"], name="sandbox_object_unique_id"
            ),
            # Both platforms refuse a SKU used anywhere in the store (products and variants).
            models.UniqueConstraint(
                fields=["store", "sku"], condition=~Q(sku=""), name="sandbox_object_unique_sku"
            ),
            models.UniqueConstraint(
                fields=["store", "resource", "unique_name"], name="sandbox_object_unique_name"
            ),
        ]
        indexes = [
            models.Index(fields=["store", "resource", "sku"]),
            models.Index(fields=["store", "resource", "name"]),
            models.Index(fields=["store", "resource", "parent_id"]),
        ]

    def __str__(self) -> str:
        return f"{self.store.slug}/{self.resource}/{self.object_id}"
