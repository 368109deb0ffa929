"""Read-only admin for the review queue: conflicts change only through apps.conflicts.services
(which writes to the target, journals and audits), never by editing a row here."""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.http import HttpRequest

from apps.conflicts.models import Conflict


@admin.register(Conflict)
class ConflictAdmin(admin.ModelAdmin):
    list_display = ("id", "project", "kind", "entity", "source_id", "status", "created_at")
    list_filter = ("status", "kind", "entity")
    search_fields = ("source_id", "target_id", "natural_key")
    list_select_related = ("project",)
    raw_id_fields = ("project", "run", "resolved_by", "claimed_by")
    date_hierarchy = "created_at"

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False
