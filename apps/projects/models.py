from __future__ import annotations

from django.conf import settings
from django.db import models

from apps.core.roles import Role

ENTITY_CHOICES = [
    ("categories", "Categories"),
    ("brands", "Brands"),
    ("products", "Products"),
    ("customers", "Customers"),
    ("orders", "Orders"),
    ("posts", "Blog posts"),
]


def default_entities() -> list[str]:
    return [key for key, _ in ENTITY_CHOICES]


class Project(models.Model):
    """One migration: a source store to a target store."""

    name = models.CharField(max_length=120)
    source_store = models.ForeignKey(
        "stores.Store", on_delete=models.PROTECT, related_name="source_projects"
    )
    target_store = models.ForeignKey(
        "stores.Store", on_delete=models.PROTECT, related_name="target_projects"
    )
    entities = models.JSONField(default=default_entities)
    # Per entity and field: {"products": {"name": {"from": "title", "transforms": ["trim"]}}}.
    # Merged over the platform pair's defaults (apps/projects/mapping.py).
    field_mappings = models.JSONField(default=dict, blank=True)
    # Switches for the cleansing rules (apps/projects/cleansing.py); absent keys take the default.
    cleansing = models.JSONField(default=dict, blank=True)
    # Entity Points: weight overrides per entity, and the budget runs may spend (None: no cap).
    entity_weights = models.JSONField(default=dict, blank=True)
    points_budget = models.PositiveIntegerField(null=True, blank=True)
    # Conflicts: {"products": {"default": "manual", "fields": {"price": "source_wins"}}};
    # absent entities and fields use "manual" (nothing is overwritten silently).
    conflict_policies = models.JSONField(default=dict, blank=True)
    # Deletes at the source, per entity: "propagate", "archive" or "review" (the default).
    delete_policies = models.JSONField(default=dict, blank=True)
    # A delta reads [since - overlap, until]: records at the boundary are read twice, never
    # zero times, even when the source's clock lags ours.
    delta_overlap_seconds = models.PositiveIntegerField(default=300)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name", "id"]

    def __str__(self) -> str:
        return self.name


class Membership(models.Model):
    """Access is per project: an agency runs many clients' migrations on one server."""

    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="memberships")
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="memberships"
    )
    role = models.CharField(max_length=20, choices=Role.choices)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["project", "user"], name="membership_unique_user")
        ]

    def __str__(self) -> str:
        return f"{self.user} {self.role} of {self.project}"
